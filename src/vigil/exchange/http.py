"""A small JSON-over-HTTP client for Vigil's feeds and HMA's routes (standard library only).

Every failure becomes an ``ExchangeError`` naming the exchange and the page: an HTTP
error status (with the partner's message when it sends one), a timeout, a refused
connection, a body cut short or one that is not JSON. Bodies are size-limited so a
partner cannot make a pull hold gigabytes in memory.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from vigil.exchange.base import ExchangeError

#: Largest answer read (a page of 10,000 entries is about 2 MiB).
MAX_BODY = 64 * 1024 * 1024
TIMEOUT = 30.0


def request_json(
    method: str,
    url: str,
    *,
    who: str,
    page: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    timeout: float | None = None,
    allow_404: bool = False,
) -> Any:
    """``method url`` with an optional JSON body; the decoded JSON answer (None: 404 allowed)."""
    timeout = TIMEOUT if timeout is None else timeout
    data = None if body is None else json.dumps(body).encode()
    head = {"Accept": "application/json", **(headers or {})}
    if data is not None:
        head["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, headers=head, method=method)
    prefix = f"exchange {who}: {page}"
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read(MAX_BODY + 1)
            length = resp.headers.get("Content-Length")
    except urllib.error.HTTPError as exc:
        if allow_404 and exc.code == 404:
            return None
        detail = _message(exc.read(4096))
        raise ExchangeError(f"{prefix}: HTTP {exc.code}{': ' + detail if detail else ''}") from exc
    except TimeoutError as exc:
        raise ExchangeError(f"{prefix}: no answer within {timeout:g} s") from exc
    except urllib.error.URLError as exc:
        raise ExchangeError(f"{prefix}: cannot reach {url}: {exc.reason}") from exc
    except (OSError, ValueError) as exc:  # IncompleteRead is a ValueError-free OSError here
        raise ExchangeError(f"{prefix}: the answer was cut short ({exc})") from exc
    if len(raw) > MAX_BODY:
        raise ExchangeError(f"{prefix}: the answer is larger than {MAX_BODY} bytes")
    if length is not None and length.isdigit() and int(length) != len(raw):
        raise ExchangeError(f"{prefix}: the answer was cut short ({len(raw)} of {length} bytes)")
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise ExchangeError(f"{prefix}: the answer is not JSON ({exc})") from exc


def _message(raw: bytes) -> str:
    try:
        data = json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace").strip()[:200]
    if isinstance(data, dict):
        for key in ("message", "detail", "error"):
            if isinstance(data.get(key), str):
                return str(data[key])[:200]
    return ""
