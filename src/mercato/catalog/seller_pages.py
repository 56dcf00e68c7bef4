"""Seller Center pages: shops, products, variants, images, stock, catalog import, settings."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts import repository as accounts_repo
from mercato.accounts.deps import CurrentUser
from mercato.catalog import browse as browsing
from mercato.catalog import hooks, importing, products, shops
from mercato.catalog import repository as repo
from mercato.catalog.api import import_report
from mercato.catalog.errors import CatalogError
from mercato.catalog.importers import FORMATS
from mercato.catalog.presenters import product_detail, shop_out
from mercato.catalog.schemas import ProductIn, ProductUpdate, ShopIn, ShopUpdate, VariantIn, VariantUpdate
from mercato.kit.errors import AppError, ValidationFailed
from mercato.kit.fields import PathId
from mercato.kit.http import AppSettings, DbSession, get_database
from mercato.kit.limits import larger_body
from mercato.kit.money import MoneyError, exponent, parse_amount, to_decimal
from mercato.kit.ratelimit import rate_limiter
from mercato.kit.uploads import read_capped
from mercato.web.forms import error_messages, form_data, rollback
from mercato.web.render import redirect, render

if TYPE_CHECKING:  # annotations only: routes use no models at run time
    from mercato.accounts.models import User
    from mercato.catalog.models import Product, Shop

router = APIRouter(prefix="/seller", include_in_schema=False)
FormErrors = (ValidationError, AppError)


def _amount(text: str | None, currency: str, field: str, *, required: bool = False) -> int | None:
    text = (text or "").strip()
    if not text:
        if required:
            raise ValidationFailed(f"Enter a {field.replace('_', ' ')}.", code=CatalogError.MISSING_PRICE,
                                   details={"field": field})
        return None
    try:
        return parse_amount(text, currency)
    except MoneyError as exc:
        raise ValidationFailed(f"{field.replace('_', ' ').capitalize()}: {exc}.", code=CatalogError.INVALID_PRICE,
                               details={"field": field}) from exc


def _int(text: str | None, field: str, default: int | None = None) -> int | None:
    text = (text or "").strip()
    if not text:
        return default
    try:
        return int(text)
    except ValueError as exc:
        raise ValidationFailed(f"{field.replace('_', ' ').capitalize()} must be a whole number.",
                               code=CatalogError.INVALID_NUMBER, details={"field": field}) from exc


def _options(form: dict[str, str]) -> dict[str, str]:
    options: dict[str, str] = {}
    for i in (1, 2, 3):
        name, value = form.get(f"option{i}_name", "").strip(), form.get(f"option{i}_value", "").strip()
        if name and value:
            options[name] = value
        elif name or value:
            raise ValidationFailed(f"Option {i} needs both a name and a value.", code=CatalogError.INCOMPLETE_OPTION,
                                   details={"field": f"option{i}_name"})
    return options


def _variant_in(form: dict[str, str], currency: str) -> VariantIn:
    return VariantIn(
        sku=form.get("sku", "").strip() or None, options=_options(form),
        price=_amount(form.get("price"), currency, "price", required=True) or 0,
        compare_at_price=_amount(form.get("compare_at_price"), currency, "compare_at_price"),
        stock=_int(form.get("stock"), "stock", 0) or 0, weight_grams=_int(form.get("weight_grams"), "weight_grams"),
    )


def decimal_input(amount: int | None, currency: str) -> str:
    if amount is None:
        return ""
    return f"{to_decimal(amount, currency):.{exponent(currency)}f}"


async def _shop(db: AsyncSession, user: User, slug: str) -> Shop:
    return await shops.member_shop(db, user, slug)


async def _nav(db: AsyncSession, user: User, shop: Shop) -> dict[str, Any]:
    member = await repo.membership(db, shop.id, user.id)
    return {"shop": shop_out(shop, member.role if member else None), "decimal_input": decimal_input,
            "step": 1 / (10 ** exponent(shop.currency)) if exponent(shop.currency) else 1}


@router.get("", response_class=HTMLResponse)
async def seller_home(request: Request, user: CurrentUser, db: DbSession) -> Response:
    my = await repo.shops_of_user(db, user.id)
    if len(my) == 1 and not request.query_params.get("all"):
        return redirect(f"/seller/{my[0][0].slug}")
    panels = {shop.id: await hooks.shop_panels(db, shop.id, shop.currency) for shop, _ in my}
    return render(request, "seller/home.html", {"shops": my, "panels": panels, "values": {}, "errors": {}},
                  user=user)


@router.post("/shops", response_class=HTMLResponse)
async def create_shop(request: Request, user: CurrentUser, db: DbSession) -> Response:
    form = await form_data(request)
    values = {k: form.get(k, "") for k in ("name", "slug", "description", "currency")}
    try:
        body = ShopIn.model_validate({**values, "currency": values["currency"] or "USD"})
        shop = await shops.create_shop(db, user, body)
    except FormErrors as exc:
        message, errors = error_messages(exc)
        await rollback(db, user)
        return render(request, "seller/home.html", {"shops": await repo.shops_of_user(db, user.id), "values": values,
                                                    "errors": errors, "error": message}, user=user, status=422)
    return redirect(f"/seller/{shop.slug}")


@router.get("/{slug}", response_class=HTMLResponse)
async def products_list(request: Request, slug: str, user: CurrentUser, db: DbSession,
                        q: str | None = None, status: str | None = None, sort: str | None = None,
                        cursor: str | None = None) -> Response:
    shop = await _shop(db, user, slug)
    statuses = (status,) if status in ("draft", "active", "archived") else ("draft", "active", "archived")
    dialect = "sqlite" if get_database(request).is_sqlite else "postgresql"
    result = await browsing.browse(db, browsing.BrowseParams(q=q, sort=sort or None, cursor=cursor or None, limit=50),
                                   dialect=dialect, statuses=statuses, shop_id=shop.id)
    counts = {s: await repo.count_products(db, shop.id, s) for s in ("draft", "active", "archived")}
    return render(request, "seller/products.html", {
        **await _nav(db, user, shop), "result": result, "q": q or "", "status": status or "", "sort": result.sort,
        "sorts": browsing.SORTS, "counts": counts,
    }, user=user)


@router.get("/{slug}/products/new", response_class=HTMLResponse)
async def new_product(request: Request, slug: str, user: CurrentUser, db: DbSession) -> Response:
    shop = await _shop(db, user, slug)
    return render(request, "seller/product_new.html", {**await _nav(db, user, shop), "values": {"status": "active"},
                                                       "errors": {}}, user=user)


@router.post("/{slug}/products/new", response_class=HTMLResponse)
@larger_body("max_image_bytes")
async def create_product(request: Request, slug: str, user: CurrentUser, db: DbSession, settings: AppSettings,
                         image: Annotated[UploadFile | None, File()] = None) -> Response:
    shop = await _shop(db, user, slug)
    form = await form_data(request)
    try:
        body = ProductIn(
            title=form.get("title", ""), description=form.get("description", ""),
            status=form.get("status", "draft"),
            category=form.get("category") or None, brand=form.get("brand") or None,
            tags=[t for t in form.get("tags", "").replace(",", " ").split() if t],
            variants=[_variant_in(form, shop.currency)],
        )
        product = await products.create_product(db, shop, body)
        if image is not None and image.filename:
            data = await read_capped(image, settings.max_image_bytes, code=CatalogError.IMAGE_TOO_LARGE)
            await products.add_image(db, product, data, settings)
    except FormErrors as exc:
        message, errors = error_messages(exc)
        await rollback(db, user, shop)
        return render(request, "seller/product_new.html", {**await _nav(db, user, shop), "values": form,
                                                           "errors": errors, "error": message},
                      user=user, status=exc.status if isinstance(exc, AppError) else 422)
    return redirect(f"/seller/{shop.slug}/products/{product.id}?saved=created")


async def _edit_page(request: Request, db: AsyncSession, user: User, shop: Shop, product: Product,
                     error: str | None = None, status: int = 200) -> Response:
    detail = await product_detail(db, product)
    category = detail.category.path if detail.category else ""
    return render(request, "seller/product_edit.html", {
        **await _nav(db, user, shop), "p": detail, "category": category, "error": error,
        "saved": request.query_params.get("saved"),
    }, user=user, status=status)


async def _member_product(db: AsyncSession, user: User, slug: str, product_id: int) -> tuple[Shop, Product]:
    shop = await _shop(db, user, slug)
    product, owner_shop = await products.product_for_member(db, user, product_id)
    if owner_shop.id != shop.id:
        raise ValidationFailed("This product belongs to another shop.", code=CatalogError.WRONG_SHOP)
    return shop, product


@router.get("/{slug}/products/{product_id:int}", response_class=HTMLResponse)
async def edit_product(request: Request, slug: str, product_id: PathId, user: CurrentUser, db: DbSession) -> Response:
    shop, product = await _member_product(db, user, slug, product_id)
    return await _edit_page(request, db, user, shop, product)


async def _guarded(request: Request, db: AsyncSession, user: User, shop: Shop, product: Product,
                   action: Any, saved: str) -> Response:
    """Run one edit; on a form error, roll back and show the page again with the message."""
    try:
        await action()
    except FormErrors as exc:
        message, _ = error_messages(exc)
        await rollback(db, user, shop, product)
        return await _edit_page(request, db, user, shop, product, error=message,
                                status=exc.status if isinstance(exc, AppError) else 422)
    return redirect(f"/seller/{shop.slug}/products/{product.id}?saved={saved}")


@router.post("/{slug}/products/{product_id:int}", response_class=HTMLResponse)
async def update_product(request: Request, slug: str, product_id: PathId, user: CurrentUser, db: DbSession) -> Response:
    shop, product = await _member_product(db, user, slug, product_id)
    form = await form_data(request)

    async def action() -> None:
        body = ProductUpdate(
            title=form.get("title"), description=form.get("description", ""),
            status=form.get("status") or None,
            category=form.get("category", ""), brand=form.get("brand", ""),
            tags=[t for t in form.get("tags", "").replace(",", " ").split() if t],
        )
        await products.update_product(db, product, body)

    return await _guarded(request, db, user, shop, product, action, "product")


@router.post("/{slug}/products/{product_id:int}/variants", response_class=HTMLResponse)
async def add_variant(request: Request, slug: str, product_id: PathId, user: CurrentUser, db: DbSession) -> Response:
    shop, product = await _member_product(db, user, slug, product_id)
    form = await form_data(request)

    async def action() -> None:
        await products.add_variant(db, shop, product, _variant_in(form, shop.currency))

    return await _guarded(request, db, user, shop, product, action, "variant")


@router.post("/{slug}/variants/{variant_id:int}", response_class=HTMLResponse)
async def update_variant(request: Request, slug: str, variant_id: PathId, user: CurrentUser, db: DbSession) -> Response:
    variant, product, owner_shop = await products.variant_for_member(db, user, variant_id)
    shop = await _shop(db, user, slug)
    if owner_shop.id != shop.id:
        raise ValidationFailed("This variant belongs to another shop.", code=CatalogError.WRONG_SHOP)
    form = await form_data(request)

    async def action() -> None:
        if form.get("action") == "delete":
            await products.delete_variant(db, variant, product)
            return
        compare = _amount(form.get("compare_at_price"), shop.currency, "compare_at_price")
        body = VariantUpdate(
            sku=form.get("sku", "").strip(), price=_amount(form.get("price"), shop.currency, "price", required=True),
            compare_at_price=compare, clear_compare_at_price=compare is None,
            stock=_int(form.get("stock"), "stock", 0),
        )
        await products.update_variant(db, variant, product, body)

    return await _guarded(request, db, user, shop, product, action, "variant")


@router.post("/{slug}/products/{product_id:int}/images", response_class=HTMLResponse)
@larger_body("max_image_bytes")
async def upload_image(request: Request, slug: str, product_id: PathId, user: CurrentUser, db: DbSession,
                       settings: AppSettings, image: Annotated[UploadFile, File()]) -> Response:
    shop, product = await _member_product(db, user, slug, product_id)

    async def action() -> None:
        data = await read_capped(image, settings.max_image_bytes, code=CatalogError.IMAGE_TOO_LARGE)
        await products.add_image(db, product, data, settings)

    return await _guarded(request, db, user, shop, product, action, "image")


@router.post("/{slug}/images/{image_id:int}", response_class=HTMLResponse)
async def image_action(request: Request, slug: str, image_id: PathId, user: CurrentUser, db: DbSession) -> Response:
    image, product = await products.image_for_member(db, user, image_id)
    shop = await _shop(db, user, slug)
    form = await form_data(request)

    async def action() -> None:
        if form.get("action") == "delete":
            await products.delete_image(db, image)
        else:
            await products.make_cover(db, image)

    return await _guarded(request, db, user, shop, product, action, "image")


@router.get("/{slug}/import", response_class=HTMLResponse)
async def import_page(request: Request, slug: str, user: CurrentUser, db: DbSession) -> Response:
    shop = await _shop(db, user, slug)
    runs = [import_report(r) for r in await repo.import_runs(db, shop.id, 10)]
    return render(request, "seller/import.html", {**await _nav(db, user, shop), "runs": runs, "report": None},
                  user=user)


@router.post("/{slug}/import", response_class=HTMLResponse)
@larger_body("max_import_bytes", "max_import_bytes")
async def import_submit(request: Request, slug: str, user: CurrentUser, db: DbSession, settings: AppSettings,
                        file: Annotated[UploadFile, File()],
                        combinations: Annotated[UploadFile | None, File()] = None) -> Response:
    shop = await _shop(db, user, slug)
    await rate_limiter(request).check("shop_import", request, shop=str(shop.id))  # the API's budget
    form = await form_data(request)
    fmt = form.get("format") or None
    try:
        data = await read_capped(file, settings.max_import_bytes)
        extra = None
        if combinations is not None and combinations.filename:
            extra = await read_capped(combinations, settings.max_import_bytes)
        if fmt is not None and fmt not in FORMATS:
            raise ValidationFailed("Unknown format.", code=CatalogError.INVALID_FORMAT)
        run = await importing.run_import(db, shop, data, file.filename or "upload", fmt=fmt, combinations=extra,
                                         user_id=user.id)
        await db.refresh(shop)
    except AppError as exc:
        await rollback(db, user, shop)
        runs = [import_report(r) for r in await repo.import_runs(db, shop.id, 10)]
        return render(request, "seller/import.html", {**await _nav(db, user, shop), "runs": runs, "report": None,
                                                      "error": exc.message}, user=user, status=exc.status)
    runs = [import_report(r) for r in await repo.import_runs(db, shop.id, 10)]
    return render(request, "seller/import.html", {**await _nav(db, user, shop), "runs": runs,
                                                  "report": import_report(run)}, user=user)


@router.get("/{slug}/settings", response_class=HTMLResponse)
async def settings_page(request: Request, slug: str, user: CurrentUser, db: DbSession) -> Response:
    shop = await _shop(db, user, slug)
    return render(request, "seller/settings.html", {**await _nav(db, user, shop), **await _members(db, shop),
                                                    "saved": request.query_params.get("saved")}, user=user)


async def _members(db: AsyncSession, shop: Shop) -> dict[str, Any]:
    members = []
    for m in await repo.shop_members(db, shop.id):
        person = await accounts_repo.user_by_id(db, m.user_id)
        if person is not None:
            members.append({"user": person, "role": m.role})
    return {"members": members}


@router.post("/{slug}/settings", response_class=HTMLResponse)
async def settings_submit(request: Request, slug: str, user: CurrentUser, db: DbSession) -> Response:
    shop = await _shop(db, user, slug)
    form = await form_data(request)
    try:
        if form.get("action") == "add_staff":
            await shops.require_member(db, user, shop, owner=True)
            await shops.add_staff(db, shop, form.get("email", ""))
        elif form.get("action") == "remove_staff":
            await shops.require_member(db, user, shop, owner=True)
            await shops.remove_staff(db, shop, _int(form.get("user_id"), "user_id") or 0)
        else:
            await shops.update_shop(db, shop, ShopUpdate(name=form.get("name"), description=form.get("description", ""),
                                                         policies=form.get("policies", "")))
    except FormErrors as exc:
        message, _ = error_messages(exc)
        await rollback(db, user, shop)
        return render(request, "seller/settings.html", {**await _nav(db, user, shop), **await _members(db, shop),
                                                        "error": message}, user=user, status=422)
    return redirect(f"/seller/{shop.slug}/settings?saved=1")
