"""Helpers for HTML forms: CSRF for anonymous posts, safe redirects, readable errors."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.kit.errors import AppError, Forbidden
from mercato.web.csrf import csrf_ok
from mercato.web.errors import WebError


async def require_csrf(request: Request) -> None:
    if not await csrf_ok(request):
        raise Forbidden("The form expired. Reload the page and try again.", code=WebError.CSRF_FAILED)


async def form_data(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


def safe_next(target: str | None, default: str = "/") -> str:
    """Only same-site paths: never ``//evil.example`` or ``https://…``."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def error_messages(exc: Exception) -> tuple[str, dict[str, str]]:
    """A summary line and per-field messages, from an application or validation error."""
    if isinstance(exc, ValidationError):
        fields: dict[str, str] = {}
        for err in exc.errors():
            name = ".".join(str(p) for p in err.get("loc", ()))
            fields.setdefault(name or "form", err.get("msg", "invalid").removeprefix("Value error, "))
        return "Please correct the highlighted fields.", fields
    if isinstance(exc, AppError):
        details: Any = exc.details
        field = details.get("field") if isinstance(details, dict) else None
        return exc.message, ({str(field): exc.message} if field else {})
    raise exc


async def rollback(db: AsyncSession, *keep: object) -> None:
    """Undo a failed form action before showing the form again.

    A rollback expires everything the session holds; the objects the page still needs
    (the caller, the shop, the order …) are loaded again here, not lazily in a template.
    """
    await db.rollback()
    for obj in keep:
        await db.refresh(obj)
