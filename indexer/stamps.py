"""The stamp beside each derived index: a small JSON file saying what the index was built from.

Both derived indexes (FAISS in `vectors/`, tantivy in `lexical/`) write one after every change,
last, via temp file + fsync + rename, so a reader sees the old stamp or the new one, never half of
one; a crash between an index write and its stamp leaves an older stamp over newer content, which
reads as stale and is answered with a rebuild. A stamp holds the store's generation, model and
dimension (from `indexer.derived`) and the index's own format fields; it is read without loading
the index, which is what staleness checks and a long-lived reader's refresh need.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from pathlib import Path

STAMP_NAME = "stamp.json"


def write_stamp(directory: Path, data: Mapping[str, object]) -> None:
    """Write `data`, with the time it was built, as `directory`/stamp.json, atomically; a failed
    write (a full disk) leaves the old stamp and no temp file."""
    path = Path(directory) / STAMP_NAME
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump({"built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **data}, f,
                      ensure_ascii=False, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def read_stamp(directory: Path, own: Mapping[str, object] | None = None) -> dict | None:
    """The stamp in `directory`, or None when it is absent, unreadable, or (with `own`) written by
    another format of the index: any of `own`'s fields differing means the index must be rebuilt."""
    try:
        stamp = json.loads((Path(directory) / STAMP_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(stamp, dict) or any(stamp.get(k) != v for k, v in (own or {}).items()):
        return None
    return stamp


def stamp_key(directory: Path) -> tuple[int, int, int] | None:
    """(inode, size, mtime) of the stamp file, None when absent: a stamp is replaced by rename, so
    a new stamp is a new inode, and one stat tells a reader its index was rewritten."""
    try:
        stat = os.stat(Path(directory) / STAMP_NAME)
    except OSError:
        return None
    return stat.st_ino, stat.st_size, stat.st_mtime_ns
