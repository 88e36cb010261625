"""Prometheus metrics: requests, latency, matches, index size, webhook queue.

A pure ASGI middleware (no per-request task or body copy, unlike Starlette's
BaseHTTPMiddleware) labels each request by its route template, never by its path,
so that hashes in query strings or set names do not explode the label space.
Counts are per serving process; with several workers, scrape each or run one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)


class Metrics:
    """The service's metrics, in their own registry."""

    def __init__(self) -> None:
        """Create the metrics."""
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "vigil_http_requests_total",
            "HTTP requests by route template, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "vigil_http_request_duration_seconds",
            "HTTP request latency by route template.",
            ["route"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.matches = Counter(
            "vigil_matches_total",
            "Matches returned, by signal type and hash-set kind.",
            ["signal_type", "kind"],
            registry=self.registry,
        )
        self.index_entries = Gauge(
            "vigil_index_entries",
            "Live entries in the loaded index.",
            ["index"],
            registry=self.registry,
        )
        self.index_bytes = Gauge(
            "vigil_index_bytes",
            "Bytes of the loaded PDQ index arrays (mapped or in memory).",
            registry=self.registry,
        )
        self.index_age = Gauge(
            "vigil_index_poll_age_seconds",
            "Seconds since the store was last polled.",
            registry=self.registry,
        )
        self.webhook_queue = Gauge(
            "vigil_webhook_deliveries",
            "Webhook deliveries by state.",
            ["state"],
            registry=self.registry,
        )
        self.refresh_hook: Callable[[], None] | None = None

    def render(self) -> bytes:
        """The text exposition format, after updating the gauges."""
        if self.refresh_hook is not None:
            self.refresh_hook()
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Count and time every HTTP request."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        """Wrap ``app``."""
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, noting its status and time."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = {"code": 500}

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route: Any = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.metrics.requests.labels(template, scope["method"], str(status["code"])).inc()
            self.metrics.latency.labels(template).observe(time.perf_counter() - start)


class BodyLimitMiddleware:
    """Refuse, with 413, a request body over the limit.

    A declared ``Content-Length`` over it is refused before anything is read; a body
    sent without one (chunked) is counted as it arrives, and reading it fails with 413
    as soon as it passes the limit, whichever route reads it.
    """

    def __init__(self, app: ASGIApp, limit: int, json_limit: int | None = None) -> None:
        """Wrap ``app``: ``limit`` for multipart uploads, ``json_limit`` for other bodies."""
        self.app = app
        self.upload_limit = limit
        self.json_limit = json_limit or limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check Content-Length; the handlers' own readers stop at the limit too."""
        if scope["type"] == "http":
            headers = scope.get("headers", ())
            multipart = any(
                n == b"content-type" and v.lower().startswith(b"multipart/") for n, v in headers
            )
            limit = self.upload_limit if multipart else self.json_limit
            for name, value in headers:
                if name == b"content-length" and value.isdigit() and int(value) > limit:
                    body = (
                        b'{"error":"too_large","message":"request body of '
                        + value
                        + b" bytes is over the limit of "
                        + str(limit).encode()
                        + b' bytes"}'
                    )
                    await send(
                        {
                            "type": "http.response.start",
                            "status": 413,
                            "headers": [
                                (b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close"),
                            ],
                        }
                    )
                    await send({"type": "http.response.body", "body": body})
                    return
            seen = 0

            async def counted() -> Message:
                nonlocal seen
                message = await receive()
                if message["type"] == "http.request":
                    seen += len(message.get("body", b""))
                    if seen > limit:
                        raise HTTPException(413, f"request body is over the limit of {limit} bytes")
                return message

            await self.app(scope, counted, send)
            return
        await self.app(scope, receive, send)
