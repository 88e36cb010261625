"""HMA's request and response shapes: names, validation rules, and how errors look.

Shared by the HMA-compatible routers (``hma`` for hashing and matching, ``hma_banks``
for banks and their content). The rules are HMA's (its pydantic schemas and
blueprints): bank names ``^[A-Z_][A-Z0-9_]*$``, notes of at most 255 characters,
metadata of ``content_id``, ``content_uri`` and ``json`` only, ``disable_until_ts`` 1
(enabled), 0 (disabled) or a Unix time, and a 422 listing the problems when a
parameter its schema declares is missing or mistyped.
"""

from __future__ import annotations

import re
from typing import Any

from vigil.hashsets.model import HashSetInfo
from vigil.web.errors import ApiError

BANK_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
CONTENT_TYPES = ("photo", "video")
RATIO = "hma_enabled_ratio"
ENABLED, DISABLED = 1, 0
FIVE_YEARS = 5 * 365 * 86400
#: HMA's signal types, in the order it lists them.
HMA_TYPES = ("pdq", "video_md5")
#: What each content type is hashed to by default (HMA's), and what ``types=`` may add.
DEFAULT_TYPES = {"photo": ("pdq",), "video": ("video_md5",)}
EXTRA_TYPES = {"photo": ("md5", "sha1", "sha256"), "video": ("md5", "sha1", "sha256", "vpdq")}
_TRUE = {"1", "on", "t", "true", "y", "yes"}
_FALSE = {"0", "off", "f", "false", "n", "no"}
_NOTE_MAX = 255
_META_KEYS = ("content_id", "content_uri", "json")


def vigil_type(name: str) -> str:
    """HMA's signal type names onto Vigil's (``video_md5`` is an MD5)."""
    return "md5" if name == "video_md5" else name


def hma_signals(signals: dict[str, str]) -> dict[str, str]:
    """An entry's hashes as HMA shows them: ``pdq`` and ``video_md5`` only."""
    out = {}
    if "pdq" in signals:
        out["pdq"] = signals["pdq"]
    if "md5" in signals:
        out["video_md5"] = signals["md5"]
    return out


def bank_json(info: HashSetInfo) -> dict[str, Any]:
    """HMA's BankConfig shape."""
    ratio = (info.attributes or {}).get(RATIO, 1.0)
    return {"matching_enabled_ratio": float(ratio), "name": info.name}


def invalid(loc: str, kind: str, msg: str, given: Any = None) -> ApiError:
    """HMA's answer to a request its schema refuses: 422 with a list of problems."""
    error = ApiError(422, "invalid_request", f"{loc}: {msg}")
    error.body = [{"type": kind, "loc": [loc], "msg": msg, "input": given}]  # type: ignore[attr-defined]
    return error


def flag(params: Any, name: str, default: bool = False) -> bool:
    """A boolean query parameter as pydantic reads one (422 when it is not one)."""
    raw = params.get(name)
    if raw is None:
        return default
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise invalid(name, "bool_parsing", "Input should be a valid boolean", raw)


def required(params: Any, name: str) -> str:
    """A query parameter HMA's schema requires (422 when missing)."""
    value = params.get(name)
    if value is None:
        raise invalid(name, "missing", "Field required", dict(params))
    return str(value)


def check_note(note: Any) -> str | None:
    """HMA's note rule: empty is none; a string of at most 255 characters."""
    if not note:
        return None
    if not isinstance(note, str):
        raise ApiError(400, "bad_request", "note should be a string")
    if len(note) > _NOTE_MAX:
        raise ApiError(400, "bad_request", f"note must be at most {_NOTE_MAX} characters")
    return note


def check_metadata(raw: Any) -> dict[str, Any] | None:
    """HMA's metadata rule: an object of ``content_id``, ``content_uri`` (text) and ``json``."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ApiError(400, "bad_request", "metadata should be a json object")
    raw = {k: v for k, v in raw.items() if k != "collab"}
    extra = sorted(set(raw) - set(_META_KEYS))
    if extra:
        raise ApiError(
            400, "bad_request", f"Invalid metadata: {extra[0]}: Extra inputs are not permitted"
        )
    for key in ("content_id", "content_uri"):
        if raw.get(key) is not None and not isinstance(raw[key], str):
            raise ApiError(
                400, "bad_request", f"Invalid metadata: {key}: Input should be a valid string"
            )
    if raw.get("json") is not None and not isinstance(raw["json"], dict):
        raise ApiError(
            400, "bad_request", "Invalid metadata: json: Input should be a valid dictionary"
        )
    kept = {k: raw[k] for k in _META_KEYS if raw.get(k) is not None}
    return kept or None


def metadata_json(stored: dict[str, Any]) -> dict[str, Any]:
    """Stored metadata as HMA's GET shows it (every field, null where unset)."""
    return {
        "content_id": stored.get("content_id"),
        "content_uri": stored.get("content_uri"),
        "json": stored.get("json"),
        "collab": None,
    }


def disable_ts(entry: dict[str, Any]) -> int:
    """HMA's ``disable_until_ts``: 1 enabled, 0 disabled, else the time it is disabled until."""
    until = entry.get("disabled_until")
    if until is None:
        return DISABLED if entry["disabled"] else ENABLED
    return int(until)


def bank_filter(param: str | None) -> set[str] | None:
    """HMA's ``banks=A,B`` parameter as a set (None: every bank)."""
    return set(param.split(",")) if param else None
