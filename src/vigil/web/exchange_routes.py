"""Exchange routes: Vigil's published feeds (``/v1/feeds``) and HMA's exchange routes (``/c``).

Feeds: a set is readable as a feed only by the API keys granted it (``vigil exchange
publish SET --key NAME``); every page is signed with this Vigil's Ed25519 key (the
one ``vigil keys generate`` made, unencrypted, in VIGIL_HOME/keys/signing.pem) and
names the feed, the cursor it starts from and the subscriber's nonce, so that a
subscriber can refuse a tampered, foreign or replayed page. Subscribers send
feedback on items to ``/v1/feeds/SET/feedback``; ``vigil hashset show SET
--feedback`` shows it per entry.

HMA: ``/c/exchanges``, ``/c/exchanges/apis``, ``/c/exchanges/api/<api>`` (and its
``/schema``), ``/c/exchange/<name>`` (GET, PUT ``enabled``, DELETE) and
``/c/exchange/<name>/status`` answer in the shapes of HMA's curation blueprint, so an
HMA client can configure Vigil's exchanges. An HMA exchange's name is its bank (set);
``api_json`` holds ``url`` and the type's options. Credentials are files named by
``vigil exchange add --credentials`` and are not set through these routes.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from vigil.exchange import EXCHANGE_TYPES, ExchangeError, exchange_type
from vigil.exchange import sync as exchanges
from vigil.exchange.signing import load_private
from vigil.keys import PRIVATE_FILE, key_folder
from vigil.settings import Settings
from vigil.web.auth import requirement
from vigil.web.errors import ApiError
from vigil.web.service import Service

BANK = re.compile(r"^[A-Z0-9_]+$")
NONCE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


class _Key:
    """The publisher's signing key, loaded on first use (a missing key is a 503, not a crash)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: Any = None

    def get(self) -> Any:
        with self._lock:
            if self._key is None:
                path = key_folder(Settings.from_env().vigil_home) / PRIVATE_FILE
                try:
                    self._key = load_private(path)
                except ExchangeError as exc:
                    raise ApiError(503, "no_signing_key", str(exc)) from exc
            return self._key


def _int(params: Any, name: str, default: int, low: int, high: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    if not re.fullmatch(r"[0-9]{1,18}", raw) or not low <= int(raw) <= high:
        raise ApiError(400, "bad_request", f"{name} must be an integer from {low} to {high}")
    return int(raw)


def build(service: Service) -> APIRouter:
    """The feed and HMA exchange routes over ``service``."""
    router = APIRouter()
    keys, buckets = service.keys, service.buckets
    matcher = Depends(requirement(keys, buckets, "matcher"))
    open_routes = service.config.hma_open_routes
    hma_reader = Depends(requirement(keys, buckets, "matcher", open_routes=open_routes))
    hma_writer = Depends(requirement(keys, buckets, "curator", open_routes=open_routes))
    signing = _Key()

    # -- feeds -----------------------------------------------------------------------

    def granted(set_name: str, key_name: str) -> None:
        with service.pool.store() as store:
            if not exchanges.repository(store).granted(set_name, key_name):
                raise ApiError(404, "not_found", f"no feed {set_name!r} for key {key_name!r}")

    @router.get("/v1/feeds", tags=["feeds"], summary="Feeds this key may read")
    def feeds(key: Any = matcher) -> dict[str, Any]:
        """The sets published to this key."""
        with service.pool.store() as store:
            sets = [s for s, _ in exchanges.repository(store).grants(key.name)]
        return {"feeds": sets}

    @router.get("/v1/feeds/{set_name}", tags=["feeds"], summary="One signed page of a feed")
    async def feed(set_name: str, request: Request, key: Any = matcher) -> dict[str, Any]:
        """``?cursor=N&limit=M&nonce=X``: items after the cursor, signed (see the module doc)."""
        params = request.query_params
        cursor = _int(params, "cursor", 0, 0, 2**62)
        limit = _int(params, "limit", 1000, 1, exchanges.MAX_PAGE)
        nonce = params.get("nonce", "")
        if not NONCE.fullmatch(nonce):
            raise ApiError(400, "bad_request", "nonce must be 8-64 letters, digits, '_' or '-'")

        def work() -> dict[str, Any]:
            granted(set_name, key.name)
            private = signing.get()
            with service.pool.store() as store:
                return exchanges.feed_batch(
                    store, set_name, cursor=cursor, limit=limit, nonce=nonce, key=private
                )

        return await run_in_threadpool(work)

    @router.post("/v1/feeds/{set_name}/feedback", tags=["feeds"], summary="Feedback on an item")
    async def feed_feedback(set_name: str, request: Request, key: Any = matcher) -> JSONResponse:
        """``{"item": ID, "verdict": "true-positive"|"false-positive", "note"?: TEXT}``."""
        data = await service.read_json(request)
        if not isinstance(data, dict) or not isinstance(data.get("item"), str):
            raise ApiError(400, "bad_request", "expected a JSON object with item and verdict")
        note = data.get("note")
        if note is not None and not isinstance(note, str):
            raise ApiError(400, "bad_request", "note must be a string")

        def work() -> dict[str, Any]:
            granted(set_name, key.name)
            with service.pool.store() as store:
                return exchanges.receive_feedback(
                    store, set_name, key.name, data["item"], str(data.get("verdict")), note
                )

        return JSONResponse(await run_in_threadpool(work), 201)

    # -- HMA's exchange routes -------------------------------------------------------

    def exchange_or_404(name: str) -> Any:
        with service.pool.store() as store:
            found = exchanges.repository(store).get(name)
        if found is None:
            raise ApiError(404, "not_found", f"Exchange '{name}' not found")
        return found

    def hma_json(exchange: Any) -> dict[str, Any]:
        return {
            "name": exchange.name,
            "api": exchange.type,
            "enabled": exchange.enabled,
            "url": exchange.url,
            "bank": exchange.into_set,
            **exchange.config.get("options", {}),
        }

    @router.get("/c/exchanges/apis", tags=["HMA-compatible"], summary="HMA: exchange types")
    def exchange_apis(key: Any = hma_reader) -> list[str]:
        """The exchange types this Vigil knows."""
        return list(EXCHANGE_TYPES)

    def api_or_400(api: str) -> Any:
        try:
            return exchange_type(api)
        except ExchangeError as exc:
            raise ApiError(400, "bad_request", f"no such Exchange API '{api}'") from exc

    @router.get("/c/exchanges/api/{api}", tags=["HMA-compatible"], summary="HMA: API config")
    def exchange_api(api: str, key: Any = hma_reader) -> dict[str, bool]:
        """Whether the type takes credentials (set with ``vigil exchange add --credentials``)."""
        cls = api_or_400(api)
        return {
            "supports_authentification": bool(cls.credential_fields),
            "has_set_authentification": False,
        }

    @router.get("/c/exchanges/api/{api}/schema", tags=["HMA-compatible"], summary="HMA: API schema")
    def exchange_api_schema(api: str, key: Any = hma_reader) -> dict[str, Any]:
        """Field descriptors of the type's settings and credentials."""
        if api not in EXCHANGE_TYPES:
            raise ApiError(404, "not_found", f"Exchange API '{api}' not found")
        cls = api_or_400(api)
        fields = [
            {"name": "url", "type": "string", "required": cls.needs_url, "default": None,
             "help": "The partner's URL.", "choices": None},
        ] + [
            {"name": o.name, "type": o.type, "required": o.required, "default": o.default,
             "help": o.help, "choices": None}
            for o in cls.options
        ]  # fmt: skip
        creds = [
            {"name": f, "type": "string", "required": True, "default": None, "help": "",
             "choices": None}
            for f in cls.credential_fields
        ]  # fmt: skip
        return {
            "config_schema": {"fields": fields},
            "credentials_schema": {"fields": creds} if creds else None,
        }

    @router.post("/c/exchanges", tags=["HMA-compatible"], summary="HMA: create an exchange")
    async def exchange_create(request: Request, key: Any = hma_writer) -> JSONResponse:
        """``{"bank": NAME, "api": TYPE, "api_json": {"url": ..., options...}}``."""
        data = await service.read_json(request)
        if not isinstance(data, dict):
            raise ApiError(400, "bad_request", "this endpoint expects a JSON object")
        bank = data.get("bank")
        if not isinstance(bank, str):
            raise ApiError(400, "bad_request", "Field `bank` is required")
        if not BANK.fullmatch(bank):
            raise ApiError(400, "bad_request", "Field `bank` must match /^[A-Z0-9_]+$/")
        api_json = data.get("api_json", {})
        if not isinstance(api_json, dict):
            raise ApiError(400, "bad_request", "Field `api_json` must be object")
        api = data.get("api")
        if api is None:
            raise ApiError(400, "bad_request", "Field `api_type` is required")
        if api not in EXCHANGE_TYPES:
            raise ApiError(400, "bad_request", f"No such exchange type '{api}'")
        options = {k: v for k, v in api_json.items() if k not in ("url", "name", "api", "enabled")}
        url = api_json.get("url")

        def work() -> None:
            with service.pool.store() as store:
                try:
                    exchanges.add_exchange(
                        store, bank, str(api), url=url, into=bank, options=options
                    )
                except ExchangeError as exc:
                    raise ApiError(
                        400, "bad_request", f"Failed to parse `api_json` - {exc}"
                    ) from exc
                if api_json.get("enabled") is False:
                    exchanges.repository(store).set_enabled(bank, False)

        await run_in_threadpool(work)
        return JSONResponse({"message": "Created successfully"}, 201)

    @router.get("/c/exchanges", tags=["HMA-compatible"], summary="HMA: list exchanges")
    def exchange_list(key: Any = hma_reader) -> list[str]:
        """Every exchange's name."""
        with service.pool.store() as store:
            return [e.name for e in exchanges.repository(store).list()]

    @router.get("/c/exchange/{name}", tags=["HMA-compatible"], summary="HMA: show an exchange")
    def exchange_show(name: str, key: Any = hma_reader) -> dict[str, Any]:
        """The exchange's configuration (never its credentials)."""
        return hma_json(exchange_or_404(name))

    @router.get("/c/exchange/{name}/status", tags=["HMA-compatible"], summary="HMA: fetch status")
    def exchange_status(name: str, key: Any = hma_reader) -> dict[str, Any]:
        """HMA's FetchStatus: checkpoint, running fetch, last completion and success."""
        ex = exchange_or_404(name)
        running = ex.fetch_started_at is not None and (
            ex.fetch_completed_at is None or ex.fetch_completed_at < ex.fetch_started_at
        )
        return {
            "checkpoint_ts": int(ex.checkpoint_at) if ex.checkpoint_at else None,
            "running_fetch_start_ts": int(ex.fetch_started_at) if running else None,
            "last_fetch_complete_ts": (
                int(ex.fetch_completed_at) if ex.fetch_completed_at else None
            ),
            "last_fetch_succeeded": ex.fetch_ok,
            "up_to_date": bool(ex.fetch_ok) and not running,
            "fetched_items": ex.fetched_items,
            "last_error": ex.fetch_error,
        }

    @router.put("/c/exchange/{name}", tags=["HMA-compatible"], summary="HMA: update an exchange")
    async def exchange_update(name: str, request: Request, key: Any = hma_writer) -> Any:
        """``{"enabled": bool}``."""
        exchange_or_404(name)
        data = await service.read_json(request)
        if not isinstance(data, dict):
            raise ApiError(400, "bad_request", "this endpoint expects a JSON object")
        enabled = data.get("enabled")
        if enabled is not None and not isinstance(enabled, bool):
            raise ApiError(400, "bad_request", "enabled must be a boolean")

        def work() -> dict[str, Any]:
            with service.pool.store() as store:
                repo = exchanges.repository(store)
                ex = repo.set_enabled(name, enabled) if enabled is not None else repo.require(name)
            return hma_json(ex)

        return await run_in_threadpool(work)

    @router.delete("/c/exchange/{name}", tags=["HMA-compatible"], summary="HMA: delete an exchange")
    def exchange_delete(name: str, key: Any = hma_writer) -> dict[str, str]:
        """Forget the exchange (its set stays); 200 whether or not it existed, as in HMA."""
        with service.pool.store() as store:
            exchanges.repository(store).remove(name)
        return {"message": "Exchange deleted"}

    return router
