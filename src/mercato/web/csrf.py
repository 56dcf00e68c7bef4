"""The CSRF double submit: the ``mercato_csrf`` cookie echoed in ``X-CSRF-Token`` or a form field.

It lives in ``web`` (below the domains) because the renderer sets the cookie and every form
checks it; ``accounts.deps`` applies it to cookie-authenticated writes.
"""

from __future__ import annotations

import hmac

from fastapi import Request

CSRF_COOKIE = "mercato_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"


async def csrf_ok(request: Request) -> bool:
    expected = request.cookies.get(CSRF_COOKIE, "")
    if not expected:
        return False
    supplied = request.headers.get(CSRF_HEADER, "")
    if not supplied:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            supplied = value if isinstance(value, str) else ""
    return hmac.compare_digest(expected, supplied)
