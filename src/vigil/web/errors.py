"""Every refusal as a JSON body with a ``message``, and Vigil's errors as status codes.

HMA clients read ``message`` (HMA's own error bodies are ``{"message": ...}``), so the
service uses that key everywhere, plus ``error``, a stable machine-readable code.
Client input never causes a 5xx: the handlers below turn every ``VigilError`` raised
on behalf of a request into a 4xx, and only a bug reaches the generic 500 handler.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from vigil.errors import (
    InvalidHashError,
    MediaError,
    StoreError,
    UnknownHashSetError,
    UsageError,
    VigilError,
)

log = logging.getLogger("vigil.web")


class ApiError(Exception):
    """A refusal with its HTTP status, code and message."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers


def status_of(exc: VigilError) -> tuple[int, str]:
    """The status code and error code for one of Vigil's errors."""
    if isinstance(exc, UnknownHashSetError):
        return 404, "not_found"
    if isinstance(exc, InvalidHashError):
        return 400, "invalid_hash"
    if isinstance(exc, MediaError):
        return 422, "bad_media"
    if isinstance(exc, StoreError):
        return 503, "store_unavailable"
    if isinstance(exc, UsageError):
        return 400, "bad_request"
    return 400, "bad_request"


def body(code: str, message: str) -> dict[str, str]:
    """The JSON body of a refusal."""
    return {"error": code, "message": message}


def install(app: FastAPI) -> None:
    """Register the handlers."""

    @app.exception_handler(ApiError)
    async def _api(_: Request, exc: ApiError) -> JSONResponse:
        content = getattr(exc, "body", None) or body(exc.code, exc.message)
        return JSONResponse(content, exc.status, headers=exc.headers)

    @app.exception_handler(VigilError)
    async def _vigil(_: Request, exc: VigilError) -> JSONResponse:
        status, code = status_of(exc)
        return JSONResponse(body(code, str(exc)), status)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for err in exc.errors()[:10]:
            where = ".".join(str(p) for p in err.get("loc", ()))
            problems.append(f"{where}: {err.get('msg', 'invalid')}")
        return JSONResponse(
            {
                **body("invalid_request", "; ".join(problems) or "invalid request"),
                "detail": [
                    {"loc": list(e.get("loc", ())), "msg": e.get("msg")} for e in exc.errors()[:10]
                ],
            },
            422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}
        return JSONResponse(
            body(codes.get(exc.status_code, "http_error"), str(exc.detail)),
            exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(body("internal", "internal error (logged)"), 500)
