"""One JSON envelope for every face of the library: `archive … --json` and the HTTP API both print
`{"ok": true, …}` on success and `{"ok": false, "error": "…", "kind": "…"}` on failure, with the
same dataclasses inside."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from indexer.store import storable_text


def plain(item: Any) -> Any:
    """`item` as JSON-ready values: dataclasses as objects, the undecodable bytes of a non-UTF-8 file
    name as backslash escapes (JSON has no lone surrogates)."""
    if dataclasses.is_dataclass(item) and not isinstance(item, type):
        return {f.name: plain(getattr(item, f.name)) for f in dataclasses.fields(item)}
    if isinstance(item, dict):
        return {str(k): plain(v) for k, v in item.items()}
    if isinstance(item, (list, tuple)):
        return [plain(v) for v in item]
    if isinstance(item, str):
        return storable_text(item)
    return item


def to_json(value: Any) -> str:
    """One JSON text for every command and endpoint, Dutch characters kept readable ("coördinatie")."""
    return json.dumps(plain(value), ensure_ascii=False, indent=2)


def success(payload: dict[str, Any]) -> dict[str, Any]:
    return {"ok": True, **payload}


def failure(error: BaseException | str, kind: str | None = None) -> dict[str, Any]:
    """The error envelope; `kind` is the exception's class name unless given ("DocumentNotFound")."""
    if kind is None:
        kind = type(error).__name__ if isinstance(error, BaseException) else "Error"
    return {"ok": False, "error": str(error), "kind": kind}
