"""HTTP glue shared by every domain: the unit-of-work dependency, error answers, headers."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mercato.config import Settings
from mercato.kit.db import Database
from mercato.kit.errors import AppError, TooManyRequests, error_body

log = logging.getLogger("mercato")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


async def get_app_settings(request: Request) -> Settings:
    # async: FastAPI runs a plain ``def`` dependency in its thread pool (a thread hop per request).
    settings: Settings = request.app.state.settings
    return settings


async def db_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's unit of work: committed when the handler returns, rolled back if it raises.

    Safe methods run on the read factory; others take the write path (on SQLite
    ``BEGIN IMMEDIATE`` at the transaction's first write).
    """
    db = get_database(request)
    async with db.unit_of_work(write=request.method not in SAFE_METHODS) as session:
        yield session


# ``scope="function"``: the exit code (commit) runs before the response is sent, so a
# client that sees 2xx can rely on the change being durable.
DbSession = Annotated[AsyncSession, Depends(db_session, scope="function")]
AppSettings = Annotated[Settings, Depends(get_app_settings)]


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "application/json" in request.headers.get("accept", "")


def install_error_handlers(app: FastAPI, html_renderer: Any = None) -> None:
    """One error shape for every failure; pages get an HTML error page instead."""

    def respond(request: Request, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
        if html_renderer is not None and not wants_json(request):
            rendered: Response = html_renderer(request, status, body["error"], headers)
            return rendered
        return JSONResponse(body, status_code=status, headers=headers)

    @app.exception_handler(AppError)
    async def app_error(request: Request, exc: AppError) -> Response:
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, TooManyRequests) else None
        return respond(request, exc.status, exc.body(), headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        details = [
            {"field": ".".join(str(p) for p in err.get("loc", ()) if p != "body"), "message": err.get("msg", "")}
            for err in exc.errors()
        ]
        first = details[0] if details else {"field": "", "message": "invalid input"}
        message = f"{first['field']}: {first['message']}" if first["field"] else first["message"]
        return respond(request, 422, error_body("validation_error", message, details))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        codes = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized", 403: "forbidden"}
        code = codes.get(exc.status_code, "http_error")
        message = exc.detail if isinstance(exc.detail, str) else "request failed"
        return respond(request, exc.status_code, error_body(code, message), dict(exc.headers or {}))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return respond(request, 500, error_body("internal_error", "Something went wrong on our side."))


SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; style-src 'self'; "
        b"script-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
    ),
]


class SecurityHeaders:
    """Pure ASGI middleware (cheap on the hot path) adding the security headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + SECURITY_HEADERS
            await send(message)

        await self.app(scope, receive, send_with_headers)
