"""Web pages of accounts: sign-up, log-in, log-out, profiles, follows, settings."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from mercato.accounts import hooks, notifications, service
from mercato.accounts import repository as repo
from mercato.accounts.deps import SESSION_COOKIE, CurrentCaller, CurrentUser, MaybeUser, rate_limited
from mercato.accounts.errors import AccountsError
from mercato.accounts.schemas import LoginIn, PasswordChangeIn, ProfileUpdateIn, RegisterIn
from mercato.kit.errors import AppError
from mercato.kit.fields import PathId
from mercato.kit.http import AppSettings, DbSession, client_address
from mercato.kit.images import store_image
from mercato.kit.limits import larger_body
from mercato.kit.uploads import read_capped
from mercato.web.forms import error_messages, form_data, require_csrf, rollback, safe_next
from mercato.web.render import redirect, render

router = APIRouter(include_in_schema=False)


def _with_session_cookie(request: Request, response: Response, token: str) -> Response:
    settings = request.app.state.settings
    response.set_cookie(
        SESSION_COOKIE, token, httponly=True, samesite="lax", secure=settings.secure_cookies,
        max_age=settings.session_days * 86400, path="/",
    )
    return response


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, user: MaybeUser, next: str | None = None) -> Response:
    if user is not None:
        return redirect(safe_next(next))
    return render(request, "accounts/login.html", {"next": safe_next(next), "values": {}})


@router.post("/login", response_class=HTMLResponse)
async def login_submit(request: Request, db: DbSession, settings: AppSettings) -> Response:
    await require_csrf(request)
    form = await form_data(request)
    values = {"email": form.get("email", ""), "next": safe_next(form.get("next"))}
    try:
        body = LoginIn(email=form.get("email", ""), password=form.get("password", ""))
        issued = await service.login(db, body.email, body.password, client=client_address(request),
                                     user_agent=request.headers.get("user-agent", ""), settings=settings)
    except (ValidationError, AppError) as exc:
        message, _ = error_messages(exc)
        status = exc.status if isinstance(exc, AppError) else 422
        return render(request, "accounts/login.html", {"error": message, "values": values, "next": values["next"]},
                      status=status)
    if issued is None:
        await db.commit()
        return render(request, "accounts/login.html",
                      {"error": service.GENERIC_LOGIN_ERROR, "values": values, "next": values["next"]}, status=401)
    await hooks.signed_in(db, issued.user, request.cookies)
    return _with_session_cookie(request, redirect(values["next"]), issued.token)


@router.get("/signup", response_class=HTMLResponse)
async def signup_page(request: Request, user: MaybeUser) -> Response:
    if user is not None:
        return redirect("/")
    return render(request, "accounts/signup.html", {"values": {}, "errors": {}})


@router.post("/signup", response_class=HTMLResponse, dependencies=[rate_limited("signup")])
async def signup_submit(request: Request, db: DbSession, settings: AppSettings) -> Response:
    await require_csrf(request)
    form = await form_data(request)
    values = {k: form.get(k, "") for k in ("email", "display_name", "date_of_birth")}
    try:
        body = RegisterIn.model_validate({**values, "password": form.get("password", "")})
        user = await service.register(db, body, settings)
        issued = await service.start_session(db, user, settings, request.headers.get("user-agent", ""))
        await hooks.signed_in(db, user, request.cookies)
    except (ValidationError, AppError) as exc:
        message, errors = error_messages(exc)
        return render(request, "accounts/signup.html", {"error": message, "errors": errors, "values": values},
                      status=409 if isinstance(exc, AppError) and exc.status == 409 else 422)
    return _with_session_cookie(request, redirect("/"), issued.token)


@router.post("/logout")
async def logout(caller: CurrentCaller, db: DbSession) -> Response:
    await service.logout(db, caller.user, caller.token)
    response = redirect("/")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/me", response_class=HTMLResponse)
async def me_page(request: Request, user: CurrentUser, db: DbSession, settings: AppSettings) -> Response:
    return render(request, "accounts/me.html", {
        **await hooks.account_context(db, user), "errors": {}, "is_adult": service.is_adult(user, settings),
        "saved": request.query_params.get("saved"),
    }, user=user)


@router.post("/me", response_class=HTMLResponse)
async def me_submit(request: Request, user: CurrentUser, db: DbSession, settings: AppSettings) -> Response:
    form = await form_data(request)
    tags = [t for t in form.get("niche_tags", "").replace("#", " ").replace(",", " ").split() if t]
    try:
        body = ProfileUpdateIn(
            display_name=form.get("display_name") or None, bio=form.get("bio", ""),
            handle=form.get("handle") or None, niche_tags=tags, become_creator=form.get("become_creator") == "on",
        )
        await service.update_profile(db, user, body)
    except (ValidationError, AppError) as exc:
        message, errors = error_messages(exc)
        await rollback(db, user)
        sections = await hooks.account_context(db, user)
        return render(request, "accounts/me.html", {**sections, "errors": errors, "error": message,
                                                    "is_adult": service.is_adult(user, settings)},
                      user=user, status=422 if not isinstance(exc, AppError) else exc.status)
    return redirect("/me?saved=profile")


@router.post("/me/avatar")
@larger_body("max_image_bytes")
async def avatar_submit(user: CurrentUser, db: DbSession, settings: AppSettings,
                        file: Annotated[UploadFile, File()]) -> Response:
    data = await read_capped(file, settings.max_image_bytes, code=AccountsError.IMAGE_TOO_LARGE)
    user.avatar_path = store_image(data, settings.media_dir, f"avatars/{user.id}",
                                   max_bytes=settings.max_image_bytes).thumb_path
    return redirect("/me?saved=avatar")


@router.post("/me/password", response_class=HTMLResponse, dependencies=[rate_limited("password")])
async def password_submit(request: Request, caller: CurrentCaller, db: DbSession, settings: AppSettings) -> Response:
    form = await form_data(request)
    try:
        body = PasswordChangeIn(current_password=form.get("current_password", ""),
                                new_password=form.get("new_password", ""))
        issued = await service.change_password(db, caller.user, body.current_password, body.new_password,
                                               settings=settings, user_agent=request.headers.get("user-agent", ""))
    except (ValidationError, AppError) as exc:
        message, errors = error_messages(exc)
        sections = await hooks.account_context(db, caller.user)
        return render(request, "accounts/me.html", {**sections, "errors": errors, "password_error": message,
                                                    "is_adult": service.is_adult(caller.user, settings)},
                      user=caller.user, status=422)
    return _with_session_cookie(request, redirect("/me?saved=password"), issued.token)


async def _profile(request: Request, db: DbSession, viewer: MaybeUser, ref: str, tab: str = "") -> Response:
    person = await service.find_user(db, ref)
    following = blocked = False
    if viewer is not None and viewer.id != person.id:
        following = await repo.follow_exists(db, viewer.id, person.id)
        blocked = await repo.block_exists(db, viewer.id, person.id)
    people = []
    if tab in ("followers", "following"):
        people = [u for u, _ in await repo.list_follow_edges(db, person.id, direction=tab, after=None, limit=60)][:60]
    sections = await hooks.profile_context(db, viewer, person)  # shops (catalog), videos (content)
    return render(request, "accounts/profile.html", {
        "person": person, "following": following, "blocked": blocked, "tab": tab, "people": people,
        "today": date.today(), **sections,
    }, user=viewer)


@router.get("/@{handle}", response_class=HTMLResponse)
async def profile_by_handle(request: Request, handle: str, db: DbSession, user: MaybeUser, tab: str = "") -> Response:
    return await _profile(request, db, user, handle, tab)


@router.get("/u/{user_id:int}", response_class=HTMLResponse)
async def profile_by_id(request: Request, user_id: PathId, db: DbSession, user: MaybeUser, tab: str = "") -> Response:
    return await _profile(request, db, user, str(user_id), tab)


@router.post("/u/{user_id:int}/follow", dependencies=[rate_limited("follow")])
async def follow_toggle(request: Request, user_id: PathId, user: CurrentUser, db: DbSession) -> Response:
    target = await service.find_user(db, str(user_id))
    form = await form_data(request)
    if form.get("action") == "unfollow":
        await service.unfollow(db, user, target)
    else:
        await service.follow(db, user, target)
    return redirect(f"/@{target.handle}" if target.handle else f"/u/{target.id}")


@router.post("/u/{user_id:int}/block", dependencies=[rate_limited("follow")])
async def block_toggle(request: Request, user_id: PathId, user: CurrentUser, db: DbSession) -> Response:
    target = await service.find_user(db, str(user_id))
    form = await form_data(request)
    if form.get("action") == "unblock":
        await service.unblock(db, user, target)
    else:
        await service.block(db, user, target)
    return redirect(f"/@{target.handle}" if target.handle else f"/u/{target.id}")


# --- notifications (the bell) -------------------------------------------------------------------

@router.get("/notifications", response_class=HTMLResponse)
async def notifications_page(request: Request, db: DbSession, user: MaybeUser, cursor: str | None = None) -> Response:
    """The caller's notifications, newest first (unread ones marked)."""
    if user is None:
        return redirect("/login?next=/notifications")
    items, nxt = await notifications.page(db, user, cursor, 30)
    return render(request, "accounts/notifications.html",
                  {"items": items, "next_cursor": nxt, "unread": await notifications.unread(db, user)}, user=user)


@router.post("/notifications/read")
async def notifications_read(request: Request, db: DbSession, user: CurrentUser) -> Response:
    """"Mark all as read" (a form with CSRF), back to the list."""
    await require_csrf(request)
    await notifications.mark_read(db, user, None)
    return redirect("/notifications")


@router.get("/notifications/badge", response_class=HTMLResponse)
async def notifications_badge(db: DbSession, user: MaybeUser) -> HTMLResponse:
    """The bell's unread count (htmx swaps it into the top bar after the page loads, so no page
    waits for it)."""
    count = await notifications.unread(db, user) if user is not None else 0
    label = "99+" if count > 99 else str(count)
    return HTMLResponse(f'<span class="bell-count" data-testid="bell-count">{label}</span>' if count else "")
