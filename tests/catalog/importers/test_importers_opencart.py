"""OpenCart from its database dump: the 3.0 and 4.1 demo catalogs, and dumps with mangled rows."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mercato.catalog.importers import CatalogFormatError, ImportedProduct, ParsedCatalog, parse_catalog

DATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "catalog" / "opencart"
OC3 = DATA / "opencart-3.0.5.0.sql"
OC4 = DATA / "opencart-4.1.0.4-en-gb.sql"


def _parse(path: Path, text: str | None = None, currency: str = "USD") -> ParsedCatalog:
    data = path.read_bytes() if text is None else text.encode()
    return parse_catalog(data, path.name, currency)


def _product(parsed: ParsedCatalog, product_id: int) -> ImportedProduct:
    return next(p for p in parsed.products if p.external_id == f"opencart:{product_id}")


def _product_ids_in_dump(path: Path) -> list[str]:
    """The ids of the ``oc_product`` tuples, read line by line (a route independent of the importer)."""
    text = path.read_text(encoding="utf-8")
    block = text[text.index("INSERT INTO `oc_product` ("):]
    block = block[: block.index(";\n")]
    return re.findall(r"^\s*(?:VALUES\s*)?\((\d+),", block, flags=re.MULTILINE)


@pytest.mark.parametrize("path", [OC3, OC4], ids=["3.0", "4.1"])
def test_demo_catalog_counts(path: Path) -> None:
    parsed = _parse(path)
    assert parsed.format == "opencart"
    ids = _product_ids_in_dump(path)
    assert len(ids) == 19
    assert [p.external_id for p in parsed.products] == [f"opencart:{i}" for i in ids]
    # 16 products without choice options + Apple Cinema 30" (4 colours x 3 sizes) + Canon EOS 5D (2 colours)
    # + Product 8 (3 sizes)
    assert sum(len(p.variants) for p in parsed.products) == 16 + 12 + 2 + 3 == 33
    assert parsed.rejected == []
    assert [(w.row, w.external_id) for w in parsed.warnings] == [
        (0, None), (12, "opencart:42"), (12, "opencart:42"), (12, "opencart:42"), (17, "opencart:47"),
        (17, "opencart:47")]
    assert parsed.warnings[0].reason.startswith("79 image(s) are files on the OpenCart server")


def test_demo_products_in_detail() -> None:
    parsed = _parse(OC3)
    htc = _product(parsed, 28)
    assert (htc.title, htc.brand, htc.category_path, htc.status) == ("HTC Touch HD", "HTC", ["Desktops"], "active")
    assert htc.description.startswith("<p>\r\n\tHTC Touch - in High Definition.")  # &lt;p&gt; unescaped once
    assert [(v.sku, v.price, v.stock, v.weight_grams) for v in htc.variants] == [("Product 1", 10000, 939, 146)]
    assert _product(parsed, 41).category_path == ["Desktops", "Mac"]
    assert _product(parsed, 42).title == 'Apple Cinema 30"'
    assert "Canon's press material" in _product(parsed, 30).description  # SQL '' escape
    assert "don&rsquo;t" in _product(parsed, 44).description  # &amp;rsquo; -> the entity the store showed
    assert _product(parsed, 48).variants[0].sku == "test 1"  # the sku column wins over the model

    canon = _product(parsed, 30)  # specials 80 (priority 1) and 90 (priority 2) for the default group
    assert canon.option_names == ["Select"]
    assert [(v.title, v.price, v.compare_at_price, v.stock, v.external_id) for v in canon.variants] == [
        ("Red", 8000, 10000, 2, "15"), ("Blue", 8000, 10000, 5, "16")]

    cinema = _product(parsed, 42)
    assert cinema.option_names == ["Select", "Radio"]
    assert len(cinema.variants) == 12
    green_small = cinema.variants[0]
    # special 90.00 + Green 1.00 + Small 10.00; compare-at 100 + 11; stock: Green is not subtracted, Small has 96;
    # weight 12.5 kg + 1 kg + 10 kg
    assert (green_small.title, green_small.price, green_small.compare_at_price, green_small.stock,
            green_small.weight_grams, green_small.sku) == ("Green / Small", 10100, 11100, 96, 23500, None)
    red_large = cinema.variants[-1]
    assert (red_large.title, red_large.price, red_large.stock) == ("Red / Large", 12400, 92)  # min(Red 92, Large 300)
    assert cinema.attributes["quantity_discounts"] == "10+: 88.0000, 20+: 77.0000, 30+: 66.0000"

    sizes = _product(parsed, 35)
    assert [(v.title, v.price, v.stock) for v in sizes.variants] == [
        ("Small", 10500, 0), ("Medium", 11000, 10), ("Large", 11500, 15)]
    monitor = _product(parsed, 47)  # subtract = 0: OpenCart does not count its stock
    assert monitor.variants[0].stock == 0


def test_opencart_4_has_no_specials_table() -> None:
    canon = _product(_parse(OC4), 30)
    assert [(v.title, v.price, v.compare_at_price) for v in canon.variants] == [("Red", 10000, None),
                                                                                ("Blue", 10000, None)]


def test_mangled_rows_are_rejected_alone() -> None:
    text = OC3.read_text(encoding="utf-8")
    text = text.replace("'Product 2', '', '', '', '', '', '', '', 999, 6, 'catalog/demo/palm_treo_pro_1.jpg', 6, 1, "
                        "'279.9900'", "'Product 2', '', '', '', '', '', '', '', 999, 6, "
                        "'catalog/demo/palm_treo_pro_1.jpg', 6, 1, '279,99'")
    text = text.replace("(31, 'Product 4', '', '', '', '', '', '', '', 1000,",
                        "(31, 'Product 4', '', '', '', '', '', '', '', '12.5',")
    parsed = _parse(OC3, text)
    assert [(i.row, i.external_id, i.reason) for i in parsed.rejected] == [
        (2, "opencart:29", "price '279,99' has a comma that is not a thousands separator; use '.' for decimals"),
        (4, "opencart:31", "quantity '12.5' is not a whole number"),
    ]
    assert len(parsed.products) == 17
    assert "opencart:29" not in {p.external_id for p in parsed.products}


def test_store_currency_must_match_the_shop() -> None:
    with pytest.raises(CatalogFormatError, match="the OpenCart store's prices are in USD but this shop sells in EUR"):
        _parse(OC4, currency="EUR")


def test_minimal_dump_without_column_lists_and_another_prefix() -> None:
    dump = (
        "CREATE TABLE `shop_product` (`product_id` int(11) NOT NULL, `model` varchar(64), `quantity` int(4),\n"
        "  `price` decimal(15,4), `status` tinyint(1), PRIMARY KEY (`product_id`));\n"
        "CREATE TABLE `shop_product_description` (`product_id` int, `language_id` int, `name` varchar(255),\n"
        "  `description` text, `tag` text);\n"
        "INSERT INTO `shop_product` VALUES (7, 'M-7', 3, 12.5, 0), (8, 'M-8', 1, 2, 1);\n"
        "INSERT INTO `shop_product_description` VALUES (7, 1, 'Tea; green', 'It\\'s &lt;b&gt;fresh&lt;/b&gt;',"
        " 'tea, green'),\n"
        "  (8, 1, 'Cup', '', '');\n"
    )
    parsed = parse_catalog(dump.encode(), "backup.sql", "EUR")
    tea = parsed.products[0]
    assert (tea.external_id, tea.title, tea.description, tea.tags, tea.status) == (
        "opencart:7", "Tea; green", "It's <b>fresh</b>", ["tea", "green"], "draft")
    assert [(v.sku, v.price, v.stock) for v in tea.variants] == [("M-7", 1250, 3)]
    assert [p.title for p in parsed.products] == ["Tea; green", "Cup"]
