"""Rendering pages: one Jinja2 environment over every domain's templates, with autoescaping.

Each page gets the caller, a CSRF token (double-submit cookie), money formatting and
the demo log-ins when the demo world is loaded.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape

from mercato.kit.money import format_money
from mercato.web.csrf import CSRF_COOKIE
from mercato.web.text import plain_text

PACKAGE = Path(__file__).resolve().parents[1]
STATIC_DIR = PACKAGE / "web" / "static"

env = Environment(
    loader=ChoiceLoader([
        FileSystemLoader(str(PACKAGE / "web" / "templates")),
        FileSystemLoader(str(PACKAGE / "accounts" / "templates")),
        FileSystemLoader(str(PACKAGE / "catalog" / "templates")),
        FileSystemLoader(str(PACKAGE / "ledger" / "templates")),
        FileSystemLoader(str(PACKAGE / "payments" / "templates")),
        FileSystemLoader(str(PACKAGE / "orders" / "templates")),
        FileSystemLoader(str(PACKAGE / "promotions" / "templates")),
        FileSystemLoader(str(PACKAGE / "connections" / "templates")),
    ]),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
    enable_async=False,
)
env.filters["money"] = format_money
env.filters["plain"] = plain_text


def _stars(rating: float) -> str:
    full = round(rating)
    return "★" * full + "☆" * (5 - full)


env.filters["stars"] = _stars


def csrf_token(request: Request) -> tuple[str, bool]:
    """The caller's CSRF token and whether it is new (and must be set as a cookie)."""
    existing = request.cookies.get(CSRF_COOKIE)
    if existing and 20 <= len(existing) <= 100:
        return existing, False
    return secrets.token_urlsafe(32), True


def set_csrf_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        CSRF_COOKIE, token, httponly=False, samesite="lax", secure=request.app.state.settings.secure_cookies,
        max_age=60 * 60 * 24 * 30, path="/",
    )


def render(request: Request, template: str, context: dict[str, Any] | None = None, *, status: int = 200,
           user: Any = None) -> HTMLResponse:
    token, fresh = csrf_token(request)
    ctx: dict[str, Any] = {
        "request": request,
        "user": user,
        "csrf_token": token,
        "path": request.url.path,
        "demo_logins": getattr(request.app.state, "demo_logins", None),
    }
    ctx.update(context or {})
    body = env.get_template(template).render(ctx)
    response = HTMLResponse(body, status_code=status)
    if fresh:
        set_csrf_cookie(request, response, token)
    return response


def redirect(url: str, status: int = 303) -> RedirectResponse:
    return RedirectResponse(url, status_code=status)


def login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return redirect(f"/login?next={quote(target)}")


def render_error(request: Request, status: int, error: dict[str, Any], headers: dict[str, str] | None) -> Response:
    if status == 401 and request.method == "GET":
        return login_redirect(request)
    titles = {403: "Not allowed", 404: "Not found", 413: "Too large", 422: "Check your input", 429: "Slow down",
              500: "Something went wrong"}
    response = render(
        request, "error.html", {"status": status, "title": titles.get(status, "Error"), "error": error},
        status=status,
    )
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response
