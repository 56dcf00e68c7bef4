"""The OpenAPI document, completed from what the routes depend on.

FastAPI documents a route's parameters, body and success answer, but not who may call it nor how it
fails. Writing ``responses=`` on every decorator would drift from the code, so the failures are
derived in one pass over ``app.routes`` once they are all registered:

- a dependency declares, where it is defined, the statuses it can answer and the security it
  implies (:func:`declare`: the caller look-up declares ``401`` and bearer/cookie security, the CSRF
  check ``403`` on writes, the operators' check ``403``);
- a path parameter means a look-up (``404``), a request body means ``413`` (the size cap) and
  parameters or a body mean ``422``;
- what only a handler or its service knows (``409`` on a conflict, ``400`` on a bad state, ``429``
  on a throttled action) is declared per operation in the app's table (``mercato/openapi.py``),
  and whatever a decorator already says is kept.

Every failure status gets the one error shape (``#/components/schemas/Error``) as its schema.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from fastapi import FastAPI, routing
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from mercato.kit.http import SAFE_METHODS

Auth = Literal["required", "optional"]

ERROR_REF = {"$ref": "#/components/schemas/Error"}

ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "description": "Every failure: a stable machine-readable `code`, a message for people, and `details` "
                   "(the fields at fault for a validation error, `retry_after` for a throttled request).",
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {},
            },
        },
    },
}

#: What a status means when nothing more specific was declared.
DEFAULT_DESCRIPTIONS = {
    400: "The request cannot be carried out in the current state.",
    401: "Not signed in, or the session has ended (`not_authenticated`, `invalid_session`).",
    402: "The card was declined.",
    403: "Not allowed.",
    404: "Not found (also for what the caller may not see).",
    409: "Conflict with the current state.",
    413: "The request body is too large.",
    422: "Invalid input: `details` lists the fields at fault.",
    429: "Too many requests: retry after `Retry-After` seconds.",
    502: "An upstream provider failed; retrying is safe.",
    503: "A required service is not configured or unavailable.",
}

SECURITY_SCHEMES: dict[str, Any] = {
    "bearerAuth": {
        "type": "http", "scheme": "bearer",
        "description": "The `token` answered by `POST /api/v1/auth/register` or `/auth/login`.",
    },
    "sessionCookie": {
        "type": "apiKey", "in": "cookie", "name": "mercato_session",
        "description": "The web app's session (HttpOnly cookie set when signing in on the site).",
    },
    "csrfCookie": {
        "type": "apiKey", "in": "cookie", "name": "mercato_csrf",
        "description": "Double-submit CSRF cookie set by the site's pages.",
    },
    "csrfHeader": {
        "type": "apiKey", "in": "header", "name": "X-CSRF-Token",
        "description": "Required with the session cookie on writes: the value of the `mercato_csrf` cookie.",
    },
}


@dataclass(frozen=True)
class Declared:
    """What one dependency adds to every operation that depends on it."""

    statuses: Mapping[int, str] = field(default_factory=dict)
    write_statuses: Mapping[int, str] = field(default_factory=dict)  # only for unsafe methods
    auth: Auth | None = None


_DECLARED: dict[Callable[..., Any], Declared] = {}


def declare(dependency: Callable[..., Any], statuses: Mapping[int, str] | None = None, *,
            write_statuses: Mapping[int, str] | None = None, auth: Auth | None = None) -> None:
    """Record, next to a dependency's definition, how it can answer and what security it implies."""
    _DECLARED[dependency] = Declared(dict(statuses or {}), dict(write_statuses or {}), auth)


def _dependencies(dependant: Dependant) -> Iterator[Dependant]:
    for sub in dependant.dependencies:
        yield sub
        yield from _dependencies(sub)


@dataclass
class Derived:
    """What the walk found for one operation."""

    statuses: dict[int, str]
    auth: Auth | None


def derive(route: Any, method: str) -> Derived:
    """``route``: an ``APIRoute`` as included in the app (FastAPI's route context, with its prefix and
    the router's dependencies)."""
    statuses: dict[int, str] = {}
    auth: Auth | None = None
    unsafe = method.upper() not in SAFE_METHODS
    for sub in _dependencies(route.dependant):
        declared = _DECLARED.get(sub.call) if sub.call is not None else None
        if declared is None:
            continue
        statuses.update(declared.statuses)
        if unsafe:
            statuses.update(declared.write_statuses)
        if declared.auth == "required" or (declared.auth == "optional" and auth is None):
            auth = declared.auth
    declared = _DECLARED.get(route.endpoint)  # a handler that checks its caller itself (streamed uploads)
    if declared is not None:
        statuses.update(declared.statuses)
        if unsafe:
            statuses.update(declared.write_statuses)
        auth = declared.auth or auth
    dependant = route.dependant
    if dependant.path_params:
        statuses.setdefault(404, DEFAULT_DESCRIPTIONS[404])
    params = [*dependant.path_params, *dependant.query_params, *dependant.header_params, *dependant.cookie_params]
    for sub in _dependencies(dependant):
        params += [*sub.path_params, *sub.query_params, *sub.header_params, *sub.cookie_params]
    if params:
        statuses.setdefault(422, DEFAULT_DESCRIPTIONS[422])
    return Derived(statuses, auth)


def _body_statuses(operation: dict[str, Any]) -> dict[int, str]:
    """A request body can be too large (``413``) or invalid (``422``); multipart data that cannot
    be parsed at all is ``400``."""
    content = operation.get("requestBody", {}).get("content", {})
    if not content:
        return {}
    statuses = {413: DEFAULT_DESCRIPTIONS[413], 422: DEFAULT_DESCRIPTIONS[422]}
    if "multipart/form-data" in content:
        statuses[400] = "The multipart body cannot be parsed."
    return statuses


def security_for(auth: Auth | None, method: str) -> list[dict[str, list[str]]] | None:
    if auth is None:
        return None
    cookie: dict[str, list[str]] = {"sessionCookie": []}
    if method.upper() not in SAFE_METHODS:
        cookie = {"sessionCookie": [], "csrfCookie": [], "csrfHeader": []}
    requirements: list[dict[str, list[str]]] = [{"bearerAuth": []}, cookie]
    return requirements if auth == "required" else [{}, *requirements]


def complete(app: FastAPI, document: dict[str, Any],
             extra: Mapping[tuple[str, str], Mapping[int, str]] | None = None) -> dict[str, Any]:
    """Add security and every failure status to ``document`` (FastAPI's own, for ``app``)."""
    extra = extra or {}
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas["Error"] = ERROR_SCHEMA
    components["securitySchemes"] = SECURITY_SCHEMES
    seen: set[tuple[str, str]] = set()
    for route in routing.iter_route_contexts(app.routes):
        if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
            continue
        path = str(route.path_format)
        for method in route.methods or ():
            operation = document["paths"].get(path, {}).get(method.lower())
            if operation is None:
                continue
            seen.add((method.lower(), path))
            derived = derive(route, method)
            statuses = _body_statuses(operation)
            statuses.update(derived.statuses)
            statuses.update(extra.get((method.lower(), path), {}))
            security = security_for(derived.auth, method)
            if security is not None:
                operation["security"] = security
            responses = operation.setdefault("responses", {})
            for status, description in statuses.items():
                answer = responses.setdefault(str(status), {})
                if not answer.get("description") or answer.get("description") == "Validation Error":
                    answer["description"] = description
            for status, answer in responses.items():
                if status.isdigit() and int(status) >= 400:
                    answer.setdefault("description", DEFAULT_DESCRIPTIONS.get(int(status), "Failed."))
                    answer["content"] = {"application/json": {"schema": ERROR_REF}}
            operation["responses"] = dict(sorted(responses.items()))
    unknown = sorted(set(extra) - seen)
    if unknown:  # a renamed or removed route: the table must follow it
        raise ValueError(f"statuses declared for operations that do not exist: {unknown}")
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return document


def install(app: FastAPI, extra: Mapping[tuple[str, str], Mapping[int, str]] | None = None) -> None:
    """Serve the completed document at ``app.openapi_url`` (built once, on first request)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(title=app.title, version=app.version, description=app.description,
                                   routes=app.routes, tags=app.openapi_tags, servers=app.servers)
            app.openapi_schema = complete(app, document, extra)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
