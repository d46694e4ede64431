"""The one error extraction raises, shared by the PDF, OCR and text extractors."""


class ExtractError(Exception):
    """A file that cannot give text: encrypted, damaged, empty, binary, or without any readable page.

    The message names the reason in words that can be stored as the document's error and shown as is.
    """
