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

from mercato.kit.errors import KitError, PayloadTooLarge, error_body

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


def _body_framing(scope: Scope) -> tuple[bool, int | None]:
    """(whether the request has a body at all, its declared length): HTTP/1.1 frames a body by
    ``Content-Length`` or ``Transfer-Encoding``; a request with neither has none."""
    has_body = False
    for name, value in scope["headers"]:
        if name == b"content-length":
            return True, int(value) if value.isdigit() else None
        if name == b"transfer-encoding":
            has_body = True
    return has_body, None


class NulInText(StarletteHTTPException):
    """Raised when a request's text holds the NUL character: a JSON ``\\u0000`` escape, ``%00`` in
    a form body, the query string or the path. PostgreSQL cannot store it in text, and no
    field of this API needs it, so it is refused on every database alike (``422``) before a
    route reads the request. Multipart bodies are not scanned (files may hold any byte)."""

    def __init__(self) -> None:
        super().__init__(422, "Text may not contain the NUL character (\\u0000).")


_JSON_NUL = b"\\u0000"
_URL_NUL = b"%00"
#: Bytes of one chunk kept to find an escape split across two chunks (with its backslashes).
_CARRY = 32


def _nul_escape_at(data: bytes) -> int:
    """The offset of the first ``\\u0000`` escape that is one (not a literal backslash followed by
    ``u0000``), or -1."""
    start = 0
    while (found := data.find(_JSON_NUL, start)) >= 0:
        before = found
        while before > 0 and data[before - 1] == 0x5C:
            before -= 1
        if (found - before) % 2 == 0:
            return found
        start = found + 1
    return -1


def _text_kind(scope: Scope) -> bytes | None:
    """The pattern that means NUL in this request's body: JSON's escape, a form's ``%00``, or None
    (no text body to scan)."""
    for name, value in scope["headers"]:
        if name == b"content-type":
            kind = value.split(b";", 1)[0].strip().lower()
            if kind == b"application/json" or kind.endswith(b"+json"):
                return _JSON_NUL
            if kind == b"application/x-www-form-urlencoded":
                return _URL_NUL
            return None
    return _JSON_NUL  # no content type: FastAPI still reads JSON


def _has_nul(kind: bytes, data: bytes) -> bool:
    return _nul_escape_at(data) >= 0 if kind is _JSON_NUL else _URL_NUL in data


class BodySizeCap:
    """Pure ASGI middleware; see the module docstring for the contract. It also refuses the NUL
    character in a request's text (:class:`NulInText`)."""

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
        if _URL_NUL in scope["query_string"] or "\x00" in scope["path"]:
            await self.respond(Request(scope, receive), 422, _nul_body(), None)(scope, receive, send)
            return
        has_body, declared = _body_framing(scope)
        if not has_body:  # nothing to count or scan: the request goes on as it came (most GETs)
            await self.app(scope, receive, send)
            return
        received = 0
        watched = WatchedSend(send)
        kind = _text_kind(scope)
        carry = b""

        async def counted_receive() -> Message:
            nonlocal received, carry
            cap = self.cap_for(scope)
            if declared is not None and declared > cap:
                raise BodyTooLarge(cap)  # refused before a byte is read
            message = await receive()
            if message["type"] == "http.request":
                chunk = message.get("body", b"")
                received += len(chunk)
                if received > cap:
                    raise BodyTooLarge(cap)
                if kind is not None and chunk:
                    scanned = carry + chunk
                    if _has_nul(kind, scanned):
                        raise NulInText()
                    carry = scanned[-_CARRY:]
            return message

        try:
            await self.app(scope, counted_receive, watched)
        except NulInText:
            if watched.started:
                raise
            await self.respond(Request(scope, receive), 422, _nul_body(), None)(scope, receive, send)
        except BodyTooLarge as exc:
            if watched.started:
                raise
            request = Request(scope, receive)
            body = error_body(KitError.PAYLOAD_TOO_LARGE, exc.detail, {"max_bytes": exc.cap})
            await self.respond(request, 413, body, None)(scope, receive, send)


class WatchedSend:
    """An ASGI ``send`` that passes every message on and remembers whether the response has
    started: an error raised before that can still become an error answer, one raised after it
    cannot (the status line is gone)."""

    __slots__ = ("send", "started")

    def __init__(self, send: Send) -> None:
        self.send = send
        self.started = False

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
        await self.send(message)


#: The ``details`` of the NUL refusal, whichever layer answers it.
NUL_DETAILS = [{"message": "the text holds a NUL character"}]


def _nul_body() -> dict[str, Any]:
    return error_body(KitError.VALIDATION_ERROR, NulInText().detail, NUL_DETAILS)


async def read_capped(request: Request, cap: int, what: str = "The request body") -> bytes:
    """The exact bytes of a body that must be read raw (a signed webhook), refused with ``413``
    past ``cap`` — by its declared length before a byte is read, else as it streams in."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise PayloadTooLarge(f"{what} is too large.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > cap:
            raise PayloadTooLarge(f"{what} is too large.")
        chunks.append(chunk)
    return b"".join(chunks)
