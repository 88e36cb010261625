"""The review app (``vigil review CASE``): a local web app where examiners grade media.

Thin over ``vigil.review.service.ReviewSession``: routes turn requests into its calls
and render Jinja2 templates. What makes it safe to look at lives here as headers and
checks, once, for every response:

- pictures are blurred and grey in their pixels (``/thumb``); a clear picture exists
  only at ``/clear/TOKEN`` for a reveal that is being held, by its own examiner;
- ``Cache-Control: no-store`` on everything, so no picture stays in a browser cache;
- a Content Security Policy that allows the app's own scripts, styles and images and
  nothing else (no inline script, no other origin), and a Host check (no DNS rebinding);
- sessions in HttpOnly, SameSite=Strict cookies; a CSRF token on every change (a
  form field or the ``X-CSRF-Token`` header), and a foreign ``Origin`` refused.

The store's one connection is used by one request at a time (``_db``); pictures are
made outside that lock, so a page of thumbnails decodes on every core.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import Body, FastAPI, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.middleware.trustedhost import TrustedHostMiddleware

from vigil import __version__
from vigil.errors import VigilError
from vigil.review.accounts import Accounts, Session, csrf_ok, settings_of
from vigil.review.grading import CONFIRMED
from vigil.review.service import QUEUES, ReviewSession
from vigil.review.thumbs import NoPictureError

COOKIE = "vigil_review"
#: Failed logins of one name allowed in the window before further tries are refused.
MAX_FAILURES = 5
FAILURE_WINDOW = 15 * 60.0
LOGIN_COOKIE = "vigil_login"
PAGE_SIZE = 100
STATIC = Path(__file__).parent / "static"

#: Everything from this app, nothing from anywhere else; no inline script or style.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), autoplay=()",
}


class ReviewApp:
    """The state behind the routes: the review, the accounts, the one store lock."""

    def __init__(self, review: ReviewSession) -> None:
        """Serve ``review`` (its store is used under ``_db`` only)."""
        self.review = review
        self.accounts = Accounts(review.store)
        self._lock = threading.Lock()
        self._failures: dict[str, list[float]] = {}
        self.templates = Environment(
            loader=PackageLoader("vigil.web.review", "templates"),
            autoescape=select_autoescape(["html", "j2"]),
        )

    @contextmanager
    def db(self) -> Iterator[None]:
        """Hold the store's connection for one request's reads and writes."""
        with self._lock:
            yield

    def session(self, request: Request) -> Session | None:
        """The request's session, from its cookie."""
        with self.db():
            return self.accounts.session(request.cookies.get(COOKIE))

    def require(
        self, request: Request, *, change: bool = False, csrf: str | None = None
    ) -> Session:
        """The session of the request; 401 without one, 403 for a change without CSRF."""
        session = self.session(request)
        if session is None:
            raise HTTPException(401, "log in first")
        if change:
            # Browsers send Origin with every POST (the Referrer-Policy is same-origin,
            # not no-referrer, which would make it "null" on forms): it must be this app.
            origin = request.headers.get("origin")
            if origin and urlsplit(origin).netloc != request.headers.get("host"):
                raise HTTPException(403, "a request from another site")
            presented = csrf or request.headers.get("x-csrf-token")
            if not csrf_ok(session, presented):
                raise HTTPException(403, "missing or wrong CSRF token")
        return session

    def throttled(self, name: str) -> bool:
        """Whether ``name`` had too many failed logins lately (guessing is slowed down)."""
        now = time.monotonic()
        recent = [t for t in self._failures.get(name, []) if now - t < FAILURE_WINDOW]
        self._failures[name] = recent
        return len(recent) >= MAX_FAILURES

    def failed(self, name: str) -> None:
        """Count a failed login for ``name``."""
        self._failures.setdefault(name, []).append(time.monotonic())

    def page(self, name: str, **context: Any) -> HTMLResponse:
        """Render a template with what every page shows."""
        html = self.templates.get_template(name).render(
            case=self.review.case, version=__version__, **context
        )
        return HTMLResponse(html)


def create_app(review: ReviewSession, *, allowed_hosts: list[str] | None = None) -> FastAPI:
    """The review app for one case; ``allowed_hosts``: Host headers it answers."""
    state = ReviewApp(review)
    app = FastAPI(
        title=f"Vigil review: {review.case.name}",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.review = state
    app.add_middleware(
        TrustedHostMiddleware,
        allowed_hosts=allowed_hosts or ["127.0.0.1", "localhost", "::1", "[::1]"],
    )

    @app.middleware("http")
    async def headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        for name, value in HEADERS.items():
            response.headers[name] = value
        return response

    @app.exception_handler(HTTPException)
    async def refused(request: Request, exc: HTTPException) -> Response:
        wants_html = "text/html" in request.headers.get("accept", "")
        if exc.status_code == 401 and wants_html and request.method == "GET":
            return RedirectResponse("/login", 303)
        return JSONResponse({"error": exc.detail}, exc.status_code)

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/login", response_class=HTMLResponse)
    def login_form(error: str | None = None) -> HTMLResponse:
        token = secrets.token_urlsafe(24)
        response = state.page("login.html.j2", login_csrf=token, error=error)
        _cookie(response, LOGIN_COOKIE, token, 600)
        return response

    @app.post("/login")
    def login(
        request: Request,
        name: str = Form(...),
        password: str = Form(...),
        csrf: str = Form(""),
    ) -> Response:
        expected = request.cookies.get(LOGIN_COOKIE) or ""
        if not expected or not secrets.compare_digest(expected, csrf):
            raise HTTPException(403, "missing or wrong CSRF token")
        if state.throttled(name):
            raise HTTPException(429, "too many failed logins for this name: wait 15 minutes")
        with state.db():
            opened = state.accounts.login(name, password)
        if opened is None:
            state.failed(name)
            return RedirectResponse("/login?error=1", 303)
        token, session = opened
        with state.db():
            review.cases.record(review.case, "review.login", {}, session.user.name)
        response = RedirectResponse("/", 303)
        _cookie(response, COOKIE, token, 12 * 3600)
        response.delete_cookie(LOGIN_COOKIE, path="/")
        return response

    @app.post("/logout")
    def logout(request: Request, csrf: str = Form("")) -> Response:
        state.require(request, change=True, csrf=csrf)
        with state.db():
            state.accounts.logout(request.cookies.get(COOKIE) or "")
        response = RedirectResponse("/login", 303)
        response.delete_cookie(COOKIE, path="/")
        return response

    @app.get("/")
    def home(request: Request) -> Response:
        session = state.require(request)
        with state.db():
            counts = review.counts(session.user)
        first = next((q for q in ("matched", "unknown") if counts[q]), "unknown")
        if session.user.is_lead and counts["disputed"]:
            first = "disputed"
        return RedirectResponse(f"/queue/{first}", 303)

    @app.get("/queue/{name}", response_class=HTMLResponse)
    def queue(request: Request, name: str, page: int = 0) -> HTMLResponse:
        session = state.require(request)
        if name not in QUEUES:
            raise HTTPException(404, "no such queue")
        start = max(page, 0) * PAGE_SIZE
        with state.db():
            statuses = review.statuses()
            groups = review.queue(name, session.user, statuses, start=start, limit=PAGE_SIZE + 1)
            counts = review.counts(session.user, statuses)
        return state.page(
            "queue.html.j2",
            session=session,
            settings=settings_of(session.user),
            queue=name,
            queues=QUEUES,
            counts=counts,
            groups=groups[:PAGE_SIZE],
            page=max(page, 0),
            more=len(groups) > PAGE_SIZE,
            profile=review.profile,
        )

    @app.get("/thumb/{sha256}.jpg")
    def thumb(request: Request, sha256: str) -> Response:
        session = state.require(request)
        try:
            data = review.thumbnail(sha256, review.look(session.user))
        except NoPictureError as exc:
            raise HTTPException(404, str(exc)) from None
        return Response(data, media_type="image/jpeg")

    @app.post("/api/reveal")
    def reveal(request: Request, body: dict[str, Any] = Body(...)) -> JSONResponse:
        session = state.require(request, change=True)
        with state.db():
            try:
                token = review.start_reveal(
                    session.user, str(body.get("sha256", "")), str(body.get("mode", "full"))
                )
            except (VigilError, NoPictureError) as exc:
                raise HTTPException(400, str(exc)) from None
        return JSONResponse({"token": token, "url": f"/clear/{token}.jpg"})

    @app.get("/clear/{token}.jpg")
    def clear_picture(request: Request, token: str, x: float = 0.5, y: float = 0.5) -> Response:
        session = state.require(request)
        try:
            with state.db():  # the reveal must be open, and the examiner's, before any pixel
                sha256, mode = review.open_reveal(session.user, token)
            data = review.reveal_picture(session.user, sha256, mode, (x, y))
        except NoPictureError as exc:
            raise HTTPException(410, str(exc)) from None
        return Response(data, media_type="image/jpeg")

    @app.post("/api/reveal/end")
    def reveal_end(request: Request, body: dict[str, Any] = Body(...)) -> JSONResponse:
        session = state.require(request, change=True)
        with state.db():
            ended = review.end_reveal(session.user, str(body.get("token", "")))
        return JSONResponse({"ended": ended.to_json() if ended else None})

    @app.post("/api/decide")
    def decide(request: Request, body: dict[str, Any] = Body(...)) -> JSONResponse:
        session = state.require(request, change=True)
        shas = body.get("sha256s")
        if not isinstance(shas, list) or not all(isinstance(s, str) for s in shas):
            raise HTTPException(400, "sha256s: a list of media")
        with state.db():
            try:
                done = review.decide(
                    session.user, shas, str(body.get("key", "")), resolve=bool(body.get("resolve"))
                )
            except VigilError as exc:
                raise HTTPException(400, str(exc)) from None
        return JSONResponse(done)

    @app.post("/api/undo")
    def undo(request: Request) -> JSONResponse:
        session = state.require(request, change=True)
        with state.db():
            undone = review.undo(session.user)
        return JSONResponse({"undone": undone})

    @app.get("/settings", response_class=HTMLResponse)
    def settings_form(request: Request, saved: int = 0) -> HTMLResponse:
        session = state.require(request)
        return state.page(
            "settings.html.j2", session=session, settings=settings_of(session.user), saved=saved
        )

    @app.post("/settings")
    def settings_save(
        request: Request,
        csrf: str = Form(""),
        blur: str = Form("3"),
        grey: str = Form(""),
        break_minutes: str = Form("45"),
        break_reveals: str = Form("20"),
    ) -> Response:
        session = state.require(request, change=True, csrf=csrf)
        raw = {
            "blur": blur,
            "grey": grey,
            "break_minutes": break_minutes,
            "break_reveals": break_reveals,
        }
        with state.db():
            try:
                state.accounts.save_settings(session.user, raw)
            except VigilError as exc:
                raise HTTPException(400, str(exc)) from None
        return RedirectResponse("/settings?saved=1", 303)

    @app.get("/exposure", response_class=HTMLResponse)
    def exposure(request: Request) -> HTMLResponse:
        session = state.require(request)
        with state.db():
            rows = review.exposures(None if session.user.is_lead else session.user.name)
            confirmed = sum(1 for s in review.statuses().values() if s.state == CONFIRMED)
        return state.page(
            "exposure.html.j2", session=session, rows=[r.to_json() for r in rows],
            confirmed=confirmed,
        )  # fmt: skip

    return app


def _cookie(response: Response, name: str, value: str, seconds: int) -> None:
    """A session-style cookie: HttpOnly, SameSite=Strict, for this app's paths only."""
    response.set_cookie(
        name, value, max_age=seconds, path="/", httponly=True, samesite="strict", secure=False
    )
