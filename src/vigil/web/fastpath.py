"""The lookup that matches nothing, answered before routing.

Most lookups a platform makes match nothing. For a PDQ hash that has no candidate in
the index, ``GET /v1/match`` and ``GET /m/lookup`` answer from the snapshot alone; this
ASGI middleware gives exactly those requests the same answer the routes would give
(``{"matches": [], "event_id": null}`` and ``{}``) without FastAPI's routing and
dependency machinery, which costs more than the index search itself. It checks the key,
the role and the rate limit as the routes do. Anything else (no or bad key, a hash
that is malformed or has candidates, a set filter, another route) falls through to the
routes, which answer it in full.
"""

from __future__ import annotations

import time
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Receive, Scope, Send

from vigil.errors import InvalidHashError
from vigil.services.matcher import Matcher
from vigil.signals.pdq import PdqSignal
from vigil.web.auth import ANONYMOUS
from vigil.web.service import Service

_ANSWERS = {
    "/v1/match": (b'{"matches":[],"event_id":null}', ("hashsets",)),
    "/m/lookup": (b"{}", ("url", "bypass_coinflip")),
}


class FastMiss:
    """Answer a lookup of a PDQ hash with no candidate, or pass the request on.

    It wraps the whole app, in front of Starlette's and Vigil's middleware (which cost
    a miss 10-20% of its time when the PDQ search is taken out; with the search in,
    the gain is within the noise of the shared machine), so it counts its own
    answers in the metrics, and anything unexpected while deciding falls through to
    the routes, which answer it in full (and turn errors into 4xx/5xx as usual).
    """

    def __init__(self, app: ASGIApp, service: Service) -> None:
        """Wrap ``app``."""
        self.app = app
        self.service = service
        metrics = service.metrics
        self.counted = {
            path: (
                metrics.requests.labels(path, "GET", "200"),
                metrics.latency.labels(path),
            )
            for path in _ANSWERS
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer here when sure, else call the app."""
        if scope["type"] == "http" and scope["method"] == "GET" and scope["path"] in _ANSWERS:
            start = time.perf_counter()
            try:
                sure = self._miss(scope)
            except Exception:
                sure = False
            if sure:
                body, _ = _ANSWERS[scope["path"]]
                await send(
                    {
                        "type": "http.response.start",
                        "status": 200,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                requests, latency = self.counted[scope["path"]]
                requests.inc()
                latency.observe(time.perf_counter() - start)
                return
        await self.app(scope, receive, send)

    def _miss(self, scope: Scope) -> bool:
        params = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        _, filters = _ANSWERS[scope["path"]]
        if params.get("signal_type", "").lower() != "pdq" or any(params.get(f) for f in filters):
            return False
        key = None
        for name, value in scope.get("headers", ()):
            if name == b"authorization" and value[:7].lower() == b"bearer ":
                key = value[7:].strip().decode("latin-1")
            elif name == b"x-api-key" and key is None:
                key = value.strip().decode("latin-1")
        if not key:
            if not (self.service.config.hma_open_routes and scope["path"] == "/m/lookup"):
                return False
            record = ANONYMOUS
        else:
            found = self.service.keys.check(key)
            if found is None or not found.allows("matcher"):
                return False
            record = found
        snap = self.service.refresher.snapshot
        if snap is None:
            return False
        try:
            canonical = PdqSignal.validate(params.get("signal", ""))
        except InvalidHashError:
            return False
        if not Matcher(snap, None, snap.sets).surely_no_match("pdq", canonical):
            return False
        # The rate limit last: a request that falls through is charged by the route.
        return self.service.buckets.take(record.name, record.rate_per_second) == 0.0
