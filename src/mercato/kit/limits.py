"""The request-body cap of every route, as one mechanism.

`BodySizeCap` is a pure ASGI middleware: it counts the bytes the app receives — announced by
``Content-Length`` or streamed in chunks (``Transfer-Encoding: chunked`` has no length to
trust) — and past the cap answers ``413 payload_too_large`` before the route has used a byte
of the body, so nothing is written. The cap is ``MERCATO_MAX_BODY_BYTES`` (1 MiB) unless the
route that takes the request declares a larger one with `larger_body` — the upload routes
(images, videos, catalog files), sized from the settings that cap their files plus
`FORM_ALLOWANCE` for the multipart framing and the form's other fields. Those routes keep
their own exact per-file caps and codes (``kit/uploads.py``, the video upload); this one only
guarantees that no route reads an unbounded body.

The route's cap is known once routing has chosen the route (``scope["endpoint"]``), which
happens before any route reads its body; a middleware that reads the body before routing
(the flash-sale gate) is held to the default cap. (FastAPI's own ``max_body_size`` is fixed when
a route is declared, not per app from its settings, and answers a plain-text 413 from outside
the error handlers.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mercato.kit.errors import KitError, error_body

#: Builds the error answer (JSON or an HTML page): ``kit/http.py:install_error_handlers`` returns it.
ErrorResponder = Callable[[Request, int, dict[str, Any], dict[str, str] | None], Response]

#: Room for the multipart boundaries, part headers and a form's text fields next to its files.
FORM_ALLOWANCE = 1024 * 1024

F = TypeVar("F", bound=Callable[..., Any])

#: Endpoint function → the settings whose sum (plus `FORM_ALLOWANCE`) is its body cap.
_LARGER: dict[Callable[..., Any], tuple[str, ...]] = {}


def larger_body(*settings_names: str) -> Callable[[F], F]:
    """Declare that a route takes a body larger than the default: up to the sum of these
    settings (e.g. ``"max_video_bytes"``) plus `FORM_ALLOWANCE`. Put it under the route
    decorator."""

    def declare(endpoint: F) -> F:
        _LARGER[endpoint] = settings_names
        return endpoint

    return declare


class BodyTooLarge(StarletteHTTPException):
    """Raised from ``receive`` once the body passes the cap. An ``HTTPException``, so that
    FastAPI's body parsing passes it through to the error handler unchanged."""

    def __init__(self, cap: int) -> None:
        super().__init__(413, f"The request body is larger than {cap} bytes.")
        self.cap = cap


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


class BodySizeCap:
    """Pure ASGI middleware; see the module docstring for the contract."""

    def __init__(self, app: ASGIApp, default_cap: int, respond: ErrorResponder) -> None:
        self.app = app
        self.default_cap = default_cap
        # How to answer when the cap is passed outside a route (the error handlers answer inside).
        self.respond = respond

    def cap_for(self, scope: Scope) -> int:
        names = _LARGER.get(scope.get("endpoint"))  # type: ignore[arg-type]
        if names is None:
            return self.default_cap
        settings = scope["app"].state.settings
        return sum(int(getattr(settings, name)) for name in names) + FORM_ALLOWANCE

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            cap = self.cap_for(scope)
            if declared is not None and declared > cap:
                raise BodyTooLarge(cap)  # refused before a byte is read
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap:
                    raise BodyTooLarge(cap)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, watched_send)
        except BodyTooLarge as exc:
            if started:
                raise
            request = Request(scope, receive)
            body = error_body(KitError.PAYLOAD_TOO_LARGE, exc.detail, {"max_bytes": exc.cap})
            await self.respond(request, 413, body, None)(scope, receive, send)
