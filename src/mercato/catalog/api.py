"""JSON routes of the catalog: shops, products, variants, images, favourites, imports."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile
from pydantic import BaseModel

from mercato.accounts.deps import CurrentUser, MaybeUser
from mercato.catalog import browse as browsing
from mercato.catalog import importing, products, read_cache, shops
from mercato.catalog import repository as repo
from mercato.catalog.errors import CatalogError
from mercato.catalog.importers import FORMATS
from mercato.catalog.presenters import image_out, product_detail, shop_out, variant_out
from mercato.catalog.schemas import (
    BrandOut,
    CategoryOut,
    ImageOut,
    ImportReportOut,
    ImportRowOut,
    ProductCard,
    ProductIn,
    ProductOut,
    ProductUpdate,
    ShopIn,
    ShopOut,
    ShopUpdate,
    SortKey,
    StaffIn,
    VariantIn,
    VariantOut,
    VariantUpdate,
)
from mercato.kit.fields import PathId
from mercato.kit.http import AppSettings, DbSession, get_database
from mercato.kit.images import store_image
from mercato.kit.limits import larger_body
from mercato.kit.pagination import Page, clamp_limit, decode_cursor, encode_cursor
from mercato.kit.ratelimit import rate_limiter
from mercato.kit.uploads import read_capped

if TYPE_CHECKING:  # annotations only: routes use no models at run time
    from mercato.catalog.models import Category, ImportRun

router = APIRouter(prefix="/api/v1", tags=["catalog"])
FORMAT_PATTERN = "^(" + "|".join(FORMATS) + ")$"

Limit = Annotated[int | None, Query(ge=1, description="Page size; capped at the server's maximum")]
Money = Annotated[int | None, Query(ge=0, le=10**12)]


class MemberOut(BaseModel):
    user_id: int
    role: str


def _dialect(request: Request) -> str:
    return "sqlite" if get_database(request).is_sqlite else "postgresql"


# --- shops ---------------------------------------------------------------------------------


@router.get("/shops", response_model=Page[ShopOut])
async def list_shops(
    db: DbSession, settings: AppSettings, cursor: str | None = None, limit: Limit = None
) -> Page[ShopOut]:
    size = clamp_limit(limit, settings.page_size_default, settings.page_size_max)
    after = decode_cursor(cursor, (int,))
    rows = await repo.list_shops(db, size, after[0] if after else None)
    nxt = encode_cursor([rows[size - 1].id]) if len(rows) > size else None
    return Page[ShopOut](items=[shop_out(s) for s in rows[:size]], next_cursor=nxt)


@router.post("/shops", status_code=201, response_model=ShopOut)
async def create_shop(body: ShopIn, user: CurrentUser, db: DbSession) -> ShopOut:
    """Open a shop; the caller becomes its owner."""
    return shop_out(await shops.create_shop(db, user, body), "owner")


@router.get("/me/shops", response_model=list[ShopOut])
async def my_shops(user: CurrentUser, db: DbSession) -> list[ShopOut]:
    return [shop_out(shop, role) for shop, role in await repo.shops_of_user(db, user.id)]


@router.get("/shops/{slug}", response_model=ShopOut)
async def get_shop(slug: str, db: DbSession, user: MaybeUser) -> ShopOut:
    shop = await shops.get_shop(db, slug)
    member = await repo.membership(db, shop.id, user.id) if user else None
    return shop_out(shop, member.role if member else None)


@router.patch("/shops/{slug}", response_model=ShopOut)
async def update_shop(slug: str, body: ShopUpdate, user: CurrentUser, db: DbSession) -> ShopOut:
    shop = await shops.member_shop(db, user, slug)
    return shop_out(await shops.update_shop(db, shop, body))


@router.post("/shops/{slug}/logo", response_model=ShopOut)
@larger_body("max_image_bytes")
async def upload_logo(
    slug: str, user: CurrentUser, db: DbSession, settings: AppSettings, file: Annotated[UploadFile, File()]
) -> ShopOut:
    shop = await shops.member_shop(db, user, slug)
    data = await read_capped(file, settings.max_image_bytes, code=CatalogError.IMAGE_TOO_LARGE)
    stored = store_image(data, settings.media_dir, f"shops/{shop.id}", max_bytes=settings.max_image_bytes)
    shop.logo_path = stored.thumb_path
    await db.flush()
    return shop_out(shop)


@router.get("/shops/{slug}/members", response_model=list[MemberOut])
async def members(slug: str, user: CurrentUser, db: DbSession) -> list[MemberOut]:
    shop = await shops.member_shop(db, user, slug)
    return [MemberOut(user_id=m.user_id, role=m.role) for m in await repo.shop_members(db, shop.id)]


@router.post("/shops/{slug}/members", status_code=201, response_model=MemberOut)
async def add_staff(slug: str, body: StaffIn, user: CurrentUser, db: DbSession) -> MemberOut:
    """The owner adds a staff member by the email of their account."""
    shop = await shops.member_shop(db, user, slug, owner=True)
    member = await shops.add_staff(db, shop, body.email)
    return MemberOut(user_id=member.user_id, role=member.role)


@router.delete("/shops/{slug}/members/{user_id:int}", status_code=204)
async def remove_staff(slug: str, user_id: PathId, user: CurrentUser, db: DbSession) -> Response:
    shop = await shops.member_shop(db, user, slug, owner=True)
    await shops.remove_staff(db, shop, user_id)
    return Response(status_code=204)


# --- browsing ------------------------------------------------------------------------------


@router.get("/products", response_model=Page[ProductCard])
async def list_products(
    request: Request, db: DbSession, settings: AppSettings,
    q: Annotated[str | None, Query(max_length=200, description="Full-text search")] = None,
    category: str | None = None, brand: str | None = None, shop: str | None = None,
    min_price: Money = None, max_price: Money = None, in_stock: bool = False,
    sort: SortKey | None = None, cursor: str | None = None, limit: Limit = None,
) -> Page[ProductCard]:
    """The Shop Tab: active products, filtered, searched, sorted and cursor-paged."""
    params = browsing.BrowseParams(
        q=q, category=category, brand=brand, shop=shop, min_price=min_price, max_price=max_price,
        in_stock=in_stock, sort=sort, cursor=cursor,
        limit=clamp_limit(limit, settings.page_size_default, settings.page_size_max),
    )
    result = await browsing.browse(db, params, dialect=_dialect(request))
    read_cache.report_versions(request.scope, result.versions)
    return Page[ProductCard](items=result.items, next_cursor=result.next_cursor)


@router.get("/shops/{slug}/products", response_model=Page[ProductCard])
async def seller_products(
    slug: str, request: Request, user: CurrentUser, db: DbSession, settings: AppSettings,
    q: Annotated[str | None, Query(max_length=200)] = None,
    status: Annotated[str | None, Query(pattern="^(draft|active|archived)$")] = None,
    sort: SortKey | None = None, cursor: str | None = None, limit: Limit = None,
) -> Page[ProductCard]:
    """Seller view of a shop's products, drafts and archived included."""
    shop = await shops.member_shop(db, user, slug)
    params = browsing.BrowseParams(q=q, sort=sort, cursor=cursor,
                                   limit=clamp_limit(limit, settings.page_size_default, settings.page_size_max))
    statuses = (status,) if status else ("draft", "active", "archived")
    result = await browsing.browse(db, params, dialect=_dialect(request), statuses=statuses, shop_id=shop.id)
    return Page[ProductCard](items=result.items, next_cursor=result.next_cursor)


@router.get("/products/{product_id:int}", response_model=ProductOut)
async def get_product(request: Request, product_id: PathId, db: DbSession, user: MaybeUser) -> ProductOut:
    product = await products.visible_product(db, user, product_id)
    read_cache.report_versions(request.scope, [(product.id, product.version)])
    fav = bool(user and product.id in await repo.favourite_ids(db, user.id, [product.id]))
    return await product_detail(db, product, favourited=fav)


@router.get("/categories", response_model=list[CategoryOut])
async def categories(db: DbSession) -> list[CategoryOut]:
    """Categories that hold at least one active product, directly or through a subcategory (so a
    parent such as "Clothing" can be used as a filter: it includes its subcategories)."""
    every = {c.id: c for c in await repo.all_categories(db)}  # ordered by path
    keep: set[int] = set()
    for used in await repo.used_categories(db):
        node: Category | None = used
        while node is not None and node.id not in keep:
            keep.add(node.id)
            node = every.get(node.parent_id) if node.parent_id is not None else None
    return [CategoryOut(id=c.id, name=c.name, slug=c.slug, path=c.path, parent_id=c.parent_id)
            for c in every.values() if c.id in keep]


@router.get("/brands", response_model=list[BrandOut])
async def brands(db: DbSession) -> list[BrandOut]:
    return [BrandOut(id=b.id, name=b.name, slug=b.slug) for b in await repo.used_brands(db)]


# --- seller: products, variants, images ---------------------------------------------------


@router.post("/shops/{slug}/products", status_code=201, response_model=ProductOut)
async def create_product(slug: str, body: ProductIn, user: CurrentUser, db: DbSession) -> ProductOut:
    shop = await shops.member_shop(db, user, slug)
    return await product_detail(db, await products.create_product(db, shop, body))


@router.patch("/products/{product_id:int}", response_model=ProductOut)
async def update_product(product_id: PathId, body: ProductUpdate, user: CurrentUser, db: DbSession) -> ProductOut:
    product, _ = await products.product_for_member(db, user, product_id)
    return await product_detail(db, await products.update_product(db, product, body))


@router.delete("/products/{product_id:int}", status_code=204)
async def archive_product(product_id: PathId, user: CurrentUser, db: DbSession) -> Response:
    """Products are archived, not deleted: orders and videos may still point at them."""
    product, _ = await products.product_for_member(db, user, product_id)
    await products.update_product(db, product, ProductUpdate(status="archived"))
    return Response(status_code=204)


@router.post("/products/{product_id:int}/variants", status_code=201, response_model=VariantOut)
async def add_variant(product_id: PathId, body: VariantIn, user: CurrentUser, db: DbSession) -> VariantOut:
    product, shop = await products.product_for_member(db, user, product_id)
    return variant_out(await products.add_variant(db, shop, product, body))


@router.patch("/variants/{variant_id:int}", response_model=VariantOut)
async def update_variant(variant_id: PathId, body: VariantUpdate, user: CurrentUser, db: DbSession) -> VariantOut:
    variant, product, _ = await products.variant_for_member(db, user, variant_id)
    return variant_out(await products.update_variant(db, variant, product, body))


@router.delete("/variants/{variant_id:int}", status_code=204)
async def delete_variant(variant_id: PathId, user: CurrentUser, db: DbSession) -> Response:
    variant, product, _ = await products.variant_for_member(db, user, variant_id)
    await products.delete_variant(db, variant, product)
    return Response(status_code=204)


@router.post("/products/{product_id:int}/images", status_code=201, response_model=ImageOut)
@larger_body("max_image_bytes")
async def upload_image(
    product_id: PathId, user: CurrentUser, db: DbSession, settings: AppSettings,
    file: Annotated[UploadFile, File(description="JPEG, PNG, WebP or GIF")],
    alt: Annotated[str, Form(max_length=200)] = "",
) -> ImageOut:
    product, _ = await products.product_for_member(db, user, product_id)
    data = await read_capped(file, settings.max_image_bytes, code=CatalogError.IMAGE_TOO_LARGE)
    return image_out(await products.add_image(db, product, data, settings, alt))


@router.delete("/images/{image_id:int}", status_code=204)
async def delete_image(image_id: PathId, user: CurrentUser, db: DbSession) -> Response:
    image, _ = await products.image_for_member(db, user, image_id)
    await products.delete_image(db, image)
    return Response(status_code=204)


@router.post("/images/{image_id:int}/cover", status_code=204)
async def make_cover(image_id: PathId, user: CurrentUser, db: DbSession) -> Response:
    image, _ = await products.image_for_member(db, user, image_id)
    await products.make_cover(db, image)
    return Response(status_code=204)


# --- favourites ----------------------------------------------------------------------------


class FavouriteOut(BaseModel):
    favourited: bool
    favourites_count: int


@router.put("/products/{product_id:int}/favourite", response_model=FavouriteOut)
async def add_favourite(product_id: PathId, user: CurrentUser, db: DbSession) -> FavouriteOut:
    product = await products.visible_product(db, user, product_id)
    await products.favourite(db, user, product, True)
    return FavouriteOut(favourited=True, favourites_count=product.favourites_count)


@router.delete("/products/{product_id:int}/favourite", response_model=FavouriteOut)
async def remove_favourite(product_id: PathId, user: CurrentUser, db: DbSession) -> FavouriteOut:
    product = await products.visible_product(db, user, product_id)
    await products.favourite(db, user, product, False)
    return FavouriteOut(favourited=False, favourites_count=product.favourites_count)


@router.get("/me/favourites", response_model=Page[ProductCard])
async def my_favourites(
    request: Request, user: CurrentUser, db: DbSession, settings: AppSettings,
    cursor: str | None = None, limit: Limit = None,
) -> Page[ProductCard]:
    params = browsing.BrowseParams(cursor=cursor, limit=clamp_limit(limit, settings.page_size_default,
                                                                     settings.page_size_max))
    result = await browsing.browse(db, params, dialect=_dialect(request), favourites_of=user.id)
    return Page[ProductCard](items=result.items, next_cursor=result.next_cursor)


# --- catalog import ------------------------------------------------------------------------


def import_report(run: ImportRun) -> ImportReportOut:
    return ImportReportOut(
        id=run.id, filename=run.filename, format=run.format, created=run.created, updated=run.updated,
        unchanged=run.unchanged, rejected=run.rejected, rows=[ImportRowOut(**row) for row in run.report],
    )


@router.post("/shops/{slug}/imports", status_code=201, response_model=ImportReportOut)
@larger_body("max_import_bytes", "max_import_bytes")
async def import_catalog(
    slug: str, request: Request, user: CurrentUser, db: DbSession, settings: AppSettings,
    file: Annotated[UploadFile, File(description="WooCommerce CSV, Shopify CSV, Shopify products.json, "
                                                 "PrestaShop CSV or the generic CSV")],
    format: Annotated[str | None, Form(pattern=FORMAT_PATTERN)] = None,
    combinations: Annotated[UploadFile | None, File(description="PrestaShop combinations CSV")] = None,
) -> ImportReportOut:
    """Import a catalog file; idempotent by external id / SKU, with a per-row report."""
    shop = await shops.member_shop(db, user, slug)
    # Per shop, and only once the caller is a member: strangers cannot spend a shop's budget.
    await rate_limiter(request).check("shop_import", request, shop=str(shop.id))
    data = await read_capped(file, settings.max_import_bytes)
    extra = await read_capped(combinations, settings.max_import_bytes) if combinations else None
    run = await importing.run_import(db, shop, data, file.filename or "upload", fmt=format or None,
                                     combinations=extra, user_id=user.id)
    return import_report(run)


@router.get("/shops/{slug}/imports", response_model=list[ImportReportOut])
async def list_imports(slug: str, user: CurrentUser, db: DbSession) -> list[ImportReportOut]:
    shop = await shops.member_shop(db, user, slug)
    return [import_report(run) for run in await repo.import_runs(db, shop.id)]


@router.get("/imports/{run_id:int}", response_model=ImportReportOut)
async def get_import(run_id: PathId, user: CurrentUser, db: DbSession) -> ImportReportOut:
    return import_report(await importing.import_run_for_member(db, user.id, run_id))
