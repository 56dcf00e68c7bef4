"""HTTP glue shared by every domain: the unit-of-work dependency, error answers, headers."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mercato.config import Settings
from mercato.kit.db import Database
from mercato.kit.errors import AppError, KitError, TooManyRequests, error_body
from mercato.kit.limits import NUL_DETAILS, BodyTooLarge, ErrorResponder, NulInText, WatchedSend

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


def allowed_methods(routes: Iterable[BaseRoute], path: str) -> list[str]:
    """Every method some route serves at ``path`` (an ``Allow`` header lists them all: one
    route object serves one method, so the router's own 405 names only the first it met)."""
    methods: set[str] = set()
    for route in routes:
        if isinstance(route, Mount):
            if path.startswith(route.path + "/"):
                methods |= {"GET", "HEAD"}  # static files
        elif isinstance(route, (APIRoute, Route)) and route.methods and route.path_regex.match(path):
            methods |= route.methods
    if methods:
        methods.add("OPTIONS")
    return sorted(methods)


def install_error_handlers(app: FastAPI, html_renderer: Any = None,
                           routes: Callable[[], Iterable[BaseRoute]] | None = None) -> ErrorResponder:
    """One error shape for every failure; pages get an HTML error page instead.

    ``routes`` gives every route of the app (for complete ``Allow`` headers). Returns the
    function that builds an error answer, for the middlewares that answer errors themselves.
    """

    def respond(request: Request, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
        if html_renderer is not None and not wants_json(request):
            rendered: Response = html_renderer(request, status, body["error"], headers)
            return rendered
        return JSONResponse(body, status_code=status, headers=headers)

    def malformed_json(request: Request, message: str, position: int | None) -> Response:
        details = [{"message": message} if position is None else {"position": position, "message": message}]
        return respond(request, 422, error_body(KitError.VALIDATION_ERROR, f"The body is not valid JSON: {message}",
                                                   details))

    @app.exception_handler(AppError)
    async def app_error(request: Request, exc: AppError) -> Response:
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, TooManyRequests) else None
        return respond(request, exc.status, exc.body(), headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        errors = exc.errors()
        if errors and errors[0].get("type") == "json_invalid":
            # FastAPI puts the decoder's byte offset where a field name goes: it is no field.
            loc = errors[0].get("loc", ())
            position = loc[1] if len(loc) > 1 and isinstance(loc[1], int) else None
            return malformed_json(request, str(errors[0].get("ctx", {}).get("error", "JSON decode error")), position)
        details = [
            {"field": ".".join(str(p) for p in err.get("loc", ()) if p != "body"), "message": err.get("msg", "")}
            for err in errors
        ]
        first = details[0] if details else {"field": "", "message": "invalid input"}
        message = f"{first['field']}: {first['message']}" if first["field"] else first["message"]
        return respond(request, 422, error_body(KitError.VALIDATION_ERROR, message, details))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 400 and isinstance(exc.__cause__, UnicodeDecodeError):
            # A JSON body that is not UTF-8 is malformed JSON like any other.
            return malformed_json(request, "the body is not UTF-8", exc.__cause__.start)
        headers = dict(exc.headers or {})
        if exc.status_code == 405 and routes is not None:
            allow = ", ".join(allowed_methods(routes(), request.url.path))
            if request.method == "OPTIONS":
                return Response(status_code=204, headers={"Allow": allow})
            headers["Allow"] = allow
        codes = {404: KitError.NOT_FOUND, 405: KitError.METHOD_NOT_ALLOWED, 401: KitError.UNAUTHORIZED,
                 403: KitError.FORBIDDEN, 413: KitError.PAYLOAD_TOO_LARGE,
                 422: KitError.VALIDATION_ERROR}
        code = codes.get(exc.status_code, KitError.HTTP_ERROR)
        message = exc.detail if isinstance(exc.detail, str) else "request failed"
        details: Any = {"max_bytes": exc.cap} if isinstance(exc, BodyTooLarge) else None
        if isinstance(exc, NulInText):
            details = NUL_DETAILS
        return respond(request, exc.status_code, error_body(code, message, details), headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        # Reached only by an error outside `CatchAll` (Starlette re-raises it: the server then
        # drops the connection); `CatchAll` answers the others and keeps the connection.
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return respond(request, 500, INTERNAL_ERROR)

    return respond


INTERNAL_ERROR = error_body(KitError.INTERNAL_ERROR, "Something went wrong on our side.")


class CatchAll:
    """Pure ASGI middleware: any exception a request raises becomes the error shape with
    status 500 (logged with its traceback), and the exception goes no further.

    Starlette's own last-resort handler answers the 500 too but then re-raises, and the server,
    seeing the application fail after its answer, closes the keep-alive connection without
    ``Connection: close`` — the client's next request on it fails. Once an answer has started
    there is nothing to add to it: the exception is re-raised and the connection closed.
    """

    def __init__(self, app: ASGIApp, respond: ErrorResponder) -> None:
        self.app = app
        self.respond = respond

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        watched = WatchedSend(send)
        try:
            await self.app(scope, receive, watched)
        except Exception:
            log.exception("unhandled error on %s %s", scope["method"], scope["path"])
            if watched.started:
                raise
            request = Request(scope, receive)
            try:
                response = self.respond(request, 500, INTERNAL_ERROR, None)
            except Exception:  # the HTML error page itself failed: the JSON shape never does
                log.exception("error page failed on %s %s", scope["method"], scope["path"])
                response = JSONResponse(INTERNAL_ERROR, status_code=500)
            await response(scope, receive, send)


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
