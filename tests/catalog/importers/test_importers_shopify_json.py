"""Shopify Admin REST products.json: the shopify_python_api fixture plus inline documents."""

from __future__ import annotations

import json
from pathlib import Path

from mercato.catalog.importers import ParsedCatalog, parse_catalog

DATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "catalog"
PRODUCTS = DATA / "shopify" / "products.json"


def _parse() -> ParsedCatalog:
    return parse_catalog(PRODUCTS.read_bytes(), "products.json", "USD")


def test_fixture_counts() -> None:
    parsed = _parse()
    assert parsed.format == "shopify_json"
    assert [p.external_id for p in parsed.products] == ["1", "2", "3", "4"]
    assert sum(len(p.variants) for p in parsed.products) == 4
    assert parsed.rejected == []
    # product 3: its image and its variant point to product 2 (2 warnings);
    # products 2-4 reuse variant id 808950810 (3) and SKU IPOD2008PINK (3)
    assert len(parsed.warnings) == 8
    assert [w.row for w in parsed.warnings if "belongs to product 2" in w.reason] == [3, 3]
    assert [w.row for w in parsed.warnings if "also used by product 1" in w.reason] == [2, 3, 4]
    assert [w.row for w in parsed.warnings if "IPOD2008PINK" in w.reason] == [2, 3, 4]


def test_fixture_values() -> None:
    parsed = _parse()
    first = parsed.products[0]
    assert first.title == "IPod Nano - 8GB"
    assert first.status == "active"  # published_at is set
    assert first.brand == "Apple"
    assert first.category_path == ["Cult Products"]
    assert first.tags == ["Emotive", "Flash Memory", "MP3", "Music"]
    assert first.image_urls == ["http://static.shopify.com/s/files/1/6909/3384/products/ipod-nano.png?0"]
    assert first.attributes == {"product_type": "Cult Products", "handle": "ipod-nano"}
    (variant,) = first.variants
    assert variant.external_id == "808950810"
    assert variant.sku == "IPOD2008PINK"
    assert variant.options == {"Title": "Pink"}
    assert (variant.price, variant.compare_at_price, variant.stock, variant.weight_grams) == (
        19900,
        None,
        10,
        200,
    )
    third = parsed.products[2]  # kept where it is listed despite pointing at product 2
    assert len(third.image_urls) == 1
    assert third.variants[0].external_id == "808950810"
    assert third.variants[0].sku is None


def test_deterministic() -> None:
    assert _parse() == _parse()


def test_inline_document() -> None:
    document = {
        "products": [
            {
                "id": 10,
                "title": "Tee",
                "published_at": None,
                "options": [{"name": "Size", "position": 1}],
                "images": [
                    {"id": 5, "src": "http://i/b.jpg", "position": 2},
                    {"src": "http://i/a.jpg", "position": 1},
                ],
                "variants": [
                    {
                        "id": 11,
                        "position": 1,
                        "option1": "S",
                        "price": "10.00",
                        "compare_at_price": "12.00",
                        "image_id": 5,
                        "weight": 1,
                        "weight_unit": "lb",
                    },
                    {"id": 11, "position": 2, "option1": "M", "price": 10, "inventory_quantity": -2},
                    {"id": 12, "option1": "L", "price": "abc"},
                ],
            },
            {
                "id": 20,
                "title": "Gift",
                "status": "archived",
                "options": [{"name": "Title"}],
                "variants": [{"id": 21, "option1": "Default Title", "price": "5"}],
            },
            {"id": 30, "variants": []},
            "nonsense",
        ]
    }
    parsed = parse_catalog(json.dumps(document).encode(), "export.json", "USD")
    tee, gift = parsed.products
    assert tee.status == "draft"
    assert tee.image_urls == ["http://i/a.jpg", "http://i/b.jpg"]
    assert [v.external_id for v in tee.variants] == ["11", "11:2"]
    small = tee.variants[0]
    assert (small.price, small.compare_at_price, small.weight_grams, small.image_url) == (
        1000,
        1200,
        454,
        "http://i/b.jpg",
    )
    assert tee.variants[1].stock == 0
    assert gift.status == "archived"
    assert gift.option_names == []
    assert (gift.variants[0].title, gift.variants[0].options) == ("Default", {})
    assert [(i.row, i.reason) for i in parsed.rejected] == [
        (1, "variant 12: price 'abc' is not a number"),
        (3, "missing title"),
        (4, "product 4 is not a JSON object"),
    ]
    reasons = [w.reason for w in parsed.warnings]
    assert any("made unique as '11:2'" in r for r in reasons)
    assert any("inventory_quantity '-2' is negative" in r for r in reasons)
