"""The app factory: the routers, the guards, the background threads, the probes.

``create_app`` builds one process's app from a ``ServiceConfig``; ``from_env`` is the
factory uvicorn calls in each worker process (``vigil serve`` puts the settings in the
environment). The snapshot refresher and the webhook worker start and stop with the
app's lifespan.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from vigil import __version__
from vigil.services.access import ApiKey, actions
from vigil.store import open_store
from vigil.web import errors, exchange_routes, hma, v1
from vigil.web.actions import WebhookWorker
from vigil.web.auth import KeyCache, requirement
from vigil.web.config import ServiceConfig
from vigil.web.fastpath import FastMiss
from vigil.web.freshness import Refresher
from vigil.web.metrics import BodyLimitMiddleware, Metrics, MetricsMiddleware
from vigil.web.pool import StorePool
from vigil.web.ratelimit import TokenBuckets
from vigil.web.service import Service

DESCRIPTION = """Vigil's matching service: hash uploads, match hashes against hash sets,
manage the sets, and receive signed webhook events on matches. Every route except
/healthz, /readyz, /status and /status/live needs an API key: `Authorization: Bearer
<key>` or `X-API-Key` (`vigil serve --hma-open-routes` opens the HMA routes).
Uploads are hashed in memory and never stored; answers carry hashes and verdicts,
never media. HMA-compatible routes (/status, /h, /m, /c) follow HMA's shapes."""


#: FastAPI 0.16x's native OpenTelemetry asks the global providers on every request
#: whether to trace (~30 us a request on this machine), and the service exports
#: nothing: nothing leaves the machine (Prometheus metrics are at /metrics). Older
#: FastAPI versions have no such option.
NO_TELEMETRY: dict[str, Any] = (
    {"telemetry": {"tracing": False, "metrics": False, "logs": False}}
    if "telemetry" in inspect.signature(FastAPI.__init__).parameters
    else {}
)


def create_app(config: ServiceConfig | None = None) -> FastAPI:
    """One serving process's app."""
    config = config or ServiceConfig()
    open_store(config.database_url).close()  # migrate once, before any thread starts
    pool = StorePool(config.database_url)
    metrics = Metrics()
    service = Service(
        config=config,
        pool=pool,
        refresher=Refresher(config.database_url, config.index_root, config.poll_seconds),
        keys=KeyCache(pool),
        buckets=TokenBuckets(config.rate_per_second, config.burst),
        metrics=metrics,
        webhooks=WebhookWorker(pool) if config.deliver_webhooks else None,
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        service.refresher.start()
        if service.webhooks is not None:
            service.webhooks.start()
        try:
            yield
        finally:
            if service.webhooks is not None:
                await run_in_threadpool(service.webhooks.stop)
            await run_in_threadpool(service.refresher.stop)
            pool.close()

    app = FastAPI(
        title="Vigil matching service",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        **NO_TELEMETRY,
    )
    app.state.service = service
    errors.install(app)
    app.include_router(v1.build(service))
    app.include_router(hma.build(service))
    app.include_router(exchange_routes.build(service))
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.add_middleware(
        BodyLimitMiddleware,
        limit=config.max_upload_bytes + 64 * 1024,
        json_limit=config.max_json_bytes,
    )
    # The lookup that matches nothing is answered in front of everything else.
    build_stack = app.build_middleware_stack
    app.build_middleware_stack = lambda: FastMiss(build_stack(), service)  # type: ignore[method-assign]

    def gauges() -> None:
        snap = service.refresher.snapshot
        if snap is not None:
            metrics.index_entries.labels("pdq").set(len(snap.pdq))
            metrics.index_entries.labels("vpdq").set(len(snap.vpdq))
            metrics.index_bytes.set(snap.pdq.nbytes())
        metrics.index_age.set(min(service.refresher.age(), 1e9))
        with pool.store() as store:
            for state, n in actions(store).queue_status().items():
                metrics.webhook_queue.labels(state).set(n)

    metrics.refresh_hook = gauges
    matcher = requirement(service.keys, service.buckets, "matcher")

    @app.get("/healthz", tags=["status"], summary="Liveness")
    async def healthz() -> dict[str, str]:
        """The process answers (no key needed)."""
        return {"status": "ok"}

    def ready() -> tuple[bool, str]:
        if service.refresher.snapshot is None:
            return False, "INDEX-NOT-LOADED"
        if service.refresher.age() > config.stale_seconds:
            return False, "INDEX-STALE"
        return True, "I-AM-ALIVE"

    @app.get("/status", tags=["status"], summary="HMA: readiness", response_class=PlainTextResponse)
    async def status() -> PlainTextResponse:
        """``I-AM-ALIVE``, or 503 ``INDEX-NOT-LOADED`` / ``INDEX-STALE`` (no key needed)."""
        ok, text = ready()
        return PlainTextResponse(text, 200 if ok else 503)

    @app.get(
        "/status/live", tags=["status"], summary="HMA: liveness", response_class=PlainTextResponse
    )
    async def status_live() -> PlainTextResponse:
        """``I-AM-ALIVE`` whenever the process answers, index or not (no key needed)."""
        return PlainTextResponse("I-AM-ALIVE")

    @app.get("/", include_in_schema=False)
    async def home() -> RedirectResponse:
        """HMA redirects its root to /status."""
        return RedirectResponse("/status", 302)

    hma_schema: dict[str, Any] = {}

    @app.get("/openapi/openapi.json", include_in_schema=False)
    async def hma_openapi() -> JSONResponse:
        """The HMA-compatible routes described as HMA's own OpenAPI document is titled."""
        if not hma_schema:
            hma_schema.update(
                get_openapi(
                    title="Open Media Match API",
                    version=__version__,
                    description="The HMA-compatible routes of Vigil's matching service "
                    "(Vigil's own API: /openapi.json).",
                    routes=[
                        r
                        for r in app.routes
                        if getattr(r, "path", "").startswith(("/h/", "/m/", "/c/", "/status"))
                    ],
                )
            )
        return JSONResponse(hma_schema)

    @app.get("/readyz", tags=["status"], summary="Readiness")
    async def readyz() -> JSONResponse:
        """200 when the index is loaded and the store was polled recently (no key needed)."""
        snap = service.refresher.snapshot
        age = service.refresher.age()
        if snap is None:
            return JSONResponse({"status": "loading", "message": "index not yet loaded"}, 503)
        if age > config.stale_seconds:
            return JSONResponse(
                {
                    "status": "stale",
                    "message": f"store last polled {age:.1f} s ago",
                    "last_error": service.refresher.last_error,
                },
                503,
            )
        return JSONResponse({"status": "ready", "poll_age_seconds": round(age, 3)})

    @app.get("/metrics", tags=["status"], summary="Prometheus metrics")
    def prometheus(key: ApiKey = Depends(matcher)) -> Response:
        """The Prometheus text format (any key)."""
        return Response(metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")

    return app


def from_env() -> Any:
    """The uvicorn factory: the app with settings from the environment."""
    return create_app(ServiceConfig.from_env())
