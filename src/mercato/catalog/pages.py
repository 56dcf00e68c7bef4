"""Web pages of the Shop Tab: browse, search, product, shop, favourites."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from mercato.accounts import hooks as accounts_hooks
from mercato.accounts.deps import CurrentUser, MaybeUser
from mercato.catalog import browse as browsing
from mercato.catalog import hooks as catalog_hooks
from mercato.catalog import products, read_cache, shops
from mercato.catalog import repository as repo
from mercato.catalog.presenters import product_detail, shop_out
from mercato.kit.fields import PathId
from mercato.kit.http import AppSettings, DbSession, get_database
from mercato.web.forms import form_data, safe_next
from mercato.web.render import redirect, render

if TYPE_CHECKING:  # annotations only: routes use no models at run time
    from sqlalchemy.ext.asyncio import AsyncSession

    from mercato.accounts.models import User

router = APIRouter(include_in_schema=False)


@accounts_hooks.register_profile_section
async def _profile_shops(db: AsyncSession, viewer: User | None, person: User) -> dict[str, Any]:
    """The shops a person owns or staffs, on their profile page."""
    return {"shops": await repo.shops_of_user(db, person.id)}


@accounts_hooks.register_account_section
async def _account_shops(db: AsyncSession, user: User) -> dict[str, Any]:
    """The signed-in user's shops (links to the Seller Center), on their account page."""
    return {"shops": await repo.shops_of_user(db, user.id)}


def _dialect(request: Request) -> str:
    return "sqlite" if get_database(request).is_sqlite else "postgresql"


@router.get("/shop", response_class=HTMLResponse)
async def shop_tab(
    request: Request, db: DbSession, user: MaybeUser, settings: AppSettings,
    q: str | None = None, category: str | None = None, brand: str | None = None, sort: str | None = None,
    cursor: str | None = None, in_stock: bool = False,
) -> Response:
    """Search bar, category chips, brand and sort, a product grid with "load more" (htmx)."""
    params = browsing.BrowseParams(
        q=q, category=category or None, brand=brand or None, sort=sort or None, cursor=cursor or None,
        in_stock=in_stock, limit=settings.page_size_default,
    )
    result = await browsing.browse(db, params, dialect=_dialect(request))
    read_cache.report_versions(request.scope, result.versions)
    context = {
        "result": result, "q": q or "", "category": category or "", "brand": brand or "", "sort": result.sort,
        "in_stock": in_stock, "base_url": "/shop",
        "menu": await browsing.category_menu(db), "brands": await repo.used_brands(db),
        "sorts": browsing.SORTS,
    }
    if request.headers.get("hx-request") and cursor:
        return render(request, "catalog/_grid_page.html", context, user=user)
    return render(request, "catalog/shop_tab.html", context, user=user)


@router.get("/products/{product_id:int}", response_class=HTMLResponse)
async def product_page(request: Request, product_id: PathId, db: DbSession, user: MaybeUser) -> Response:
    product = await products.visible_product(db, user, product_id)
    favourited = bool(user and product.id in await repo.favourite_ids(db, user.id, [product.id]))
    detail = await product_detail(db, product, favourited=favourited)
    is_member = bool(user and await repo.membership(db, product.shop_id, user.id))
    related = await browsing.browse(
        db, browsing.BrowseParams(limit=6, sort="popular"), dialect=_dialect(request), shop_id=product.shop_id
    )
    read_cache.report_versions(request.scope, [(product.id, product.version), *related.versions])
    return render(request, "catalog/product.html", {
        "p": detail, "is_member": is_member,
        "related": [c for c in related.items if c.id != product.id][:5],
        "variants_json": [v.model_dump() for v in detail.variants],
        "reviews": await catalog_hooks.reviews_of_product(db, product.id),
    }, user=user)


@router.post("/products/{product_id:int}/favourite")
async def favourite_toggle(request: Request, product_id: PathId, db: DbSession, user: CurrentUser) -> Response:
    product = await products.visible_product(db, user, product_id)
    form = await form_data(request)
    on = form.get("action") != "remove"
    await products.favourite(db, user, product, on)
    if request.headers.get("hx-request"):
        return render(request, "catalog/_favourite.html", {"product_id": product.id, "favourited": on,
                                                           "count": product.favourites_count}, user=user)
    return redirect(safe_next(form.get("next"), f"/products/{product.id}"))


@router.get("/favourites", response_class=HTMLResponse)
async def favourites_page(request: Request, db: DbSession, user: CurrentUser, cursor: str | None = None) -> Response:
    result = await browsing.browse(db, browsing.BrowseParams(cursor=cursor, limit=48), dialect=_dialect(request),
                                   favourites_of=user.id)
    return render(request, "catalog/favourites.html", {"result": result}, user=user)


@router.get("/s/{slug}", response_class=HTMLResponse)
async def shop_page(request: Request, slug: str, db: DbSession, user: MaybeUser,
                    sort: str | None = None, cursor: str | None = None, q: str | None = None) -> Response:
    shop = await shops.get_shop(db, slug)
    result = await browsing.browse(db, browsing.BrowseParams(q=q, sort=sort or None, cursor=cursor or None,
                                                             limit=24), dialect=_dialect(request), shop_id=shop.id)
    member = await repo.membership(db, shop.id, user.id) if user else None
    context = {"shop": shop_out(shop, member.role if member else None), "result": result, "q": q or "",
               "sort": result.sort, "sorts": browsing.SORTS, "category": "", "brand": "",
               "in_stock": False, "base_url": f"/s/{shop.slug}"}
    if request.headers.get("hx-request") and cursor:
        return render(request, "catalog/_grid_page.html", context, user=user)
    return render(request, "catalog/shop.html", context, user=user)
