"""Web pages of payments: the sandbox provider's "confirm this payment" page (what a bank's
3-D Secure page is for a real card) and the page providers send the buyer back to."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from mercato.accounts.deps import MaybeUser
from mercato.kit.errors import NotFound
from mercato.kit.http import AppSettings, DbSession
from mercato.payments import repository as repo
from mercato.payments import sandbox
from mercato.web.forms import form_data, require_csrf, safe_next
from mercato.web.render import redirect, render

router = APIRouter(include_in_schema=False)


@router.get("/sandbox/actions/{token}", response_class=HTMLResponse)
async def sandbox_action_page(token: str, request: Request, db: DbSession, user: MaybeUser,
                              return_to: str | None = None) -> Response:
    charge = await repo.sandbox_charge_by_token(db, token)
    if charge is None:
        raise NotFound("This payment confirmation does not exist.")
    return render(request, "payments/sandbox_action.html",
                  {"charge": charge, "token": token, "return_to": safe_next(return_to, "")}, user=user)


@router.post("/sandbox/actions/{token}", response_class=HTMLResponse)
async def sandbox_action_submit(token: str, request: Request, db: DbSession, settings: AppSettings) -> Response:
    """Approve or decline; the shop learns the outcome by webhook a moment later."""
    await require_csrf(request)
    form = await form_data(request)
    decision = form.get("decision")
    if decision not in ("approve", "decline"):
        charge = await repo.sandbox_charge_by_token(db, token)
        if charge is None:
            raise NotFound("This payment confirmation does not exist.")
        return render(request, "payments/sandbox_action.html",
                      {"charge": charge, "token": token, "return_to": safe_next(form.get("return_to"), ""),
                       "error": "Choose Approve or Decline."}, status=422)
    charge = await sandbox.resolve_action(db, token, approve=decision == "approve", settings=settings)
    if charge is None:
        raise NotFound("This payment confirmation does not exist.")
    target = f"/sandbox/actions/{token}"
    back = safe_next(form.get("return_to"), "")
    return redirect(f"{target}?return_to={quote(back)}" if back else target)


@router.get("/payments/return", response_class=HTMLResponse)
async def payment_return(request: Request, user: MaybeUser) -> Response:
    return render(request, "payments/return.html", {}, user=user)
