"""clean.py: character normalisation, page furniture, colophon fields, de-hyphenation and re-flow."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from indexer.clean import (
    Vocabulary,
    clean_page,
    colophon_fields,
    dehyphenate,
    furniture,
    hyphen_joint,
    is_page_number,
    line_key,
    normalize,
    recurring,
    reflow,
    sidebar_label,
)

# Lines from the VWS Kamerbrief seed (/work/shared/seeds/kamerbrief-vws-2024-02-27.txt).
VWS = (
    "FNV-enquêtes heeft aangegeven zich onheus bejegend of onveilig te\n"
    "voelen. De volle inzet van de ambte-\n"
    "lijke leiding (bestuursraad) is erop gericht. Ook op directie-, afdelings- \n"
    "en/of teamniveau. Het VWS-concern in de\n"
    "FNV-enquêtes. De heer Boereboom, vanuit zijn functie als secretaris-\n"
    "generaal van het Ministerie. Begin januari de waarnemend secretaris-generaal."
)


def test_normalize_ligatures_spaces_soft_hyphens_and_invisibles() -> None:
    text = "de ﬁnanciële ﬂow\u00a0kost\u2009€\u202f5, ambte\u00ad\nlijke in\u00adzet\u200b, Financie\u0308n \uf0b7 punt\r\nregel"
    assert normalize(text) == "de financiële flow kost € 5, ambtelijke inzet, Financiën • punt\nregel"


def test_normalize_keeps_form_feeds_and_drops_trailing_spaces() -> None:
    assert normalize("pagina een  \nslot\fpagina twee \t") == "pagina een\nslot\fpagina twee"


def test_seed_line_end_hyphens() -> None:
    out = dehyphenate(VWS)
    assert "ambtelijke leiding" in out
    assert "directie-, afdelings- en/of teamniveau" in out
    assert "VWS-concern" in out
    assert "in de\nFNV-enquêtes" in out  # not a break: the hyphen is inside the line
    assert "secretaris-generaal van" in out


def test_hyphen_joint_rules() -> None:
    assert hyphen_joint("ambte", "lijke") == ""
    assert hyphen_joint("FNV", "enquêtes") == "-"  # acronym before the hyphen
    assert hyphen_joint("Noord", "Holland") == "-"  # capital after it
    assert hyphen_joint("afdelings", "en/of") == "- "  # elided compound part
    assert hyphen_joint("e", "mail") == "-"
    assert hyphen_joint("2023", "2024") == "-"
    assert hyphen_joint("zee", "egel") == "-"  # vowel clash keeps the hyphen
    assert hyphen_joint("re", "ageren") == ""  # "ea" is no clash
    assert hyphen_joint("niet", "relevant") == "-"
    assert hyphen_joint("https://eur-lex.europa.eu/legal", "content") == "-"


def test_document_vocabulary_decides() -> None:
    vocabulary = Vocabulary("De minister-president en het medewerkersonderzoek.")
    assert hyphen_joint("minister", "president", vocabulary) == "-"
    assert hyphen_joint("medewerkers", "onderzoek", vocabulary) == ""
    assert hyphen_joint("medewerkers", "onderzoeken", vocabulary) == ""  # by stem


def test_breaks_that_an_earlier_extraction_turned_into_spaces() -> None:
    text = "de ontwik-          keling van zij- instromers en instromers, studiefi-   \n\nnanciering"
    assert dehyphenate(text) == "de ontwikkeling van zij-instromers en instromers, studiefinanciering"


def test_redaction_codes_stay_whole() -> None:
    text = "Van: 5.1.2e\n5.1.2e @minvws.nl\nAan: 5.1.2e; 5.1.2e"
    assert reflow(dehyphenate(normalize(text))).split() == text.split()


def test_reflow_paragraphs_and_list_items() -> None:
    text = "Het doel is\ndrieledig:\n1) inventariseren waar\n\nvan sociale veiligheid,\n2) weten hoe\n\n\nNieuwe  alinea.\n"
    assert reflow(text) == (
        "Het doel is drieledig:\n1) inventariseren waar van sociale veiligheid,\n2) weten hoe\n\nNieuwe alinea."
    )


def test_reflow_joins_after_a_slash() -> None:
    assert reflow("te volgen kader/\nprocedure.") == "te volgen kader/procedure."


def test_page_numbers() -> None:
    for line in ("3", "- 3 -", "Pagina 2 van 5", "P agina 2 van 5", "2/7", "Pagina van", "Pagina I van 4"):
        assert is_page_number(line), line
    for line in ("2023", "3 februari", "Vraag 3", "1. Inleiding"):
        assert not is_page_number(line), line


def test_footers_keep_their_metadata() -> None:
    assert furniture("Tweede Kamer, vergaderjaar 2023–2024, 36 410 XVI, nr. 137 3") == (
        True,
        "Tweede Kamer, vergaderjaar 2023–2024, 36 410 XVI, nr. 137",
    )
    assert furniture("’s-Gravenhage 2024 Tweede Kamer, vergaderjaar 2023–2024, Aanhangsel 1") == (
        True,
        "Tweede Kamer, vergaderjaar 2023–2024, Aanhangsel",
    )
    assert furniture("kst-29984-1082") == (True, "kst-29984-1082")
    assert furniture("ISSN 0921 - 7371") == (True, "ISSN 0921 - 7371")
    assert furniture("’s-Gravenhage 2023") == (True, None)
    assert furniture("Zie Kamerstukken II 2022/23, 29 984, nr. 1082.") == (False, None)


def test_running_lines_need_several_pages() -> None:
    assert line_key("De toekomstige arbeidsmarkt 2023-2033    10") == line_key("De toekomstige arbeidsmarkt 2023-2033 9")
    assert line_key("8 | Internationale Klimaatstrategie") == line_key("Internationale Klimaatstrategie | 9")
    assert line_key("Vraag 3") != line_key("Vraag 5")
    pages = [["Ministerie van VWS", "tekst een"], ["Ministerie van VWS", "tekst twee"], ["tekst drie"]]
    assert recurring(pages) == {line_key("Ministerie van VWS")}
    assert recurring([["Ministerie van VWS"]]) == set()


def test_sidebar_labels() -> None:
    assert sidebar_label("Ons kenmerk") == "Ons kenmerk"
    assert sidebar_label("**Uw brief (kenmerk)**") == "Uw brief (kenmerk)"
    assert sidebar_label("Onze ref erentie 4 1 059776") == "Onze ref erentie"
    assert sidebar_label("> Retouradres Postbus 20201") == "Retouradres"
    assert sidebar_label("Datumstempel") is None
    assert sidebar_label("betreft het volgende") is None


def test_colophon_fields_join_labels_and_values() -> None:
    blocks = [
        ["Directie Bedrijfsvoering", "Eenheid Organisatie en", "Personeel"],
        ["Inlichtingen"],
        ["mw. V.P.H. Sijben", "T 06-11747550", "v.p.h.sijben@minfin.nl"],
        ["**Ons kenmerk**"],
        ["2022-0000088502"],
        ["Uw brief (kenmerk)"],
        ["Datum 13 april 2022", "Betreft Reactie op uw brief"],
    ]
    assert colophon_fields(blocks) == [
        "Directie Bedrijfsvoering",
        "Eenheid Organisatie en Personeel",
        "Inlichtingen mw. V.P.H. Sijben",
        "T 06-11747550",
        "v.p.h.sijben@minfin.nl",
        "Ons kenmerk 2022-0000088502",
        "Uw brief (kenmerk)",
        "Datum 13 april 2022",
        "Betreft Reactie op uw brief",
    ]


def _without_hyphens_and_spaces(text: str) -> str:
    return re.sub(r"[\s-]", "", text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("aeiouklmnAEK- \n\t.,/5ëé"), max_size=200))
def test_dehyphenate_loses_nothing_but_hyphens_and_white_space(text: str) -> None:
    out = dehyphenate(text)
    assert _without_hyphens_and_spaces(out) == _without_hyphens_and_spaces(text)
    assert out.count("-") <= text.count("-")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_cleaning_never_raises_and_reflow_only_moves_white_space(text: str) -> None:
    cleaned = clean_page(text)
    assert "\n\n\n" not in cleaned
    assert "".join(reflow(text).split()) == "".join(text.split())
