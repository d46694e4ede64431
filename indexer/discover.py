"""Find the files to ingest under the folders a user names, and say what could not be read.

Walking never follows symlinked folders (a symlink loop cannot trap it); symlinked files are
read through their target. A folder without permission or a dangling link becomes a reported
problem for that path while the walk goes on.
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

    def take(path: Path) -> None:
        try:
            target = path.resolve(strict=True)
        except (OSError, RuntimeError) as error:
            found.problems.append((path, _reason(error)))
            return
        if not target.is_file():
            if not target.is_dir():  # a FIFO would block the hash forever; a socket or device is no letter
                found.problems.append((path, "not a regular file (FIFO, socket or device)"))
            return
        if not os.access(target, os.R_OK):
            found.problems.append((path, "permission denied"))
        elif target not in seen:
            seen.add(target)
            found.files.append(path.absolute())

    for root in map(Path, paths):
        if root.is_symlink() and not root.exists():
            found.problems.append((root, "broken or looping symlink"))
        elif root.is_dir():
            for folder, subfolders, names in os.walk(root, onerror=lambda e: found.problems.append((Path(e.filename), _reason(e)))):
                subfolders.sort()
                for name in sorted(names):
                    if name.lower().endswith(SUPPORTED_SUFFIXES) and not name.startswith("."):
                        take(Path(folder) / name)
        elif root.exists():
            take(root)
        else:
            found.problems.append((root, "no such file or folder"))
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
