"""Find the files to ingest under the folders a user names, and say what could not be read.

Walking never follows symlinked folders (a symlink loop cannot trap it). A symlinked file is read
through its target only when that target's real path lies inside the folder being walked: on a
shared drive anyone who can make a link could otherwise pull any file the ingesting user can read
(`/etc/passwd`, another department's folder) into the archive. A link that leaves the folder, a
folder without permission or a dangling link becomes a reported problem for that path, naming the
link and its target, while the walk goes on. A file named directly is taken as named.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

SUPPORTED_SUFFIXES = (".pdf", ".txt", ".md", ".xml")


@dataclass
class Discovery:
    files: list[Path] = field(default_factory=list)
    problems: list[tuple[Path, str]] = field(default_factory=list)
    """(path, reason) for paths that exist but cannot be walked or read."""


def discover(paths: Iterable[Path | str]) -> Discovery:
    """Return supported files under `paths` (files named directly are taken as they are), sorted."""
    found = Discovery()
    seen: set[Path] = set()

    def take(path: Path, inside: Path | None = None) -> None:
        try:
            target = path.resolve(strict=True)
        except (OSError, RuntimeError) as error:
            found.problems.append((path.absolute(), _reason(error)))
            return
        if inside is not None and not target.is_relative_to(inside):
            found.problems.append((path.absolute(), f"symlink to {target}, outside {inside}; skipped"))
            return
        if not target.is_file():
            if not target.is_dir():  # a FIFO would block the hash forever; a socket or device is no letter
                found.problems.append((path.absolute(), "not a regular file (FIFO, socket or device)"))
            return
        if not os.access(target, os.R_OK):
            found.problems.append((path.absolute(), "permission denied"))
        elif target not in seen:
            seen.add(target)
            found.files.append(path.absolute())

    for root in map(Path, paths):
        if root.is_symlink() and not root.exists():
            found.problems.append((root.absolute(), "broken or looping symlink"))
        elif root.is_dir():
            inside = root.resolve()
            for folder, subfolders, names in os.walk(
                root, onerror=lambda e: found.problems.append((Path(e.filename).absolute(), _reason(e)))
            ):
                subfolders.sort()
                for name in subfolders:  # never walked into; one that leaves the tree is reported
                    link = Path(folder) / name
                    if link.is_symlink() and not (target := link.resolve()).is_relative_to(inside):
                        found.problems.append((link.absolute(), f"symlink to folder {target}, outside {inside}; skipped"))
                for name in sorted(names):
                    if name.lower().endswith(SUPPORTED_SUFFIXES) and not name.startswith("."):
                        take(Path(folder) / name, inside)
        elif root.exists():
            take(root)
        else:
            found.problems.append((root.absolute(), "no such file or folder"))
    found.files.sort()
    return found


def _reason(error: BaseException) -> str:
    if isinstance(error, PermissionError):
        return "permission denied"
    if isinstance(error, RuntimeError) or getattr(error, "errno", None) == 40:
        return "symlink loop"
    if isinstance(error, FileNotFoundError):
        return "broken symlink or missing file"
    return str(error)
