"""The API documentation page in a real browser: Swagger UI from the app's own static files lists the
operations of the OpenAPI document, under the app's strict CSP, with no console error."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


def test_api_docs_list_the_operations(page: Page, server: str) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    # Swagger UI renders a large document's operations as they come into view: a desktop-wide page tall
    # enough for all of them shows the whole list at once.
    page.set_viewport_size({"width": 1280, "height": 20000})
    page.goto("/api/v1/docs")

    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Mercato API")
    checkout = page.locator(".opblock-post").filter(has_text="/api/v1/checkouts/{checkout_id}/pay")
    expect(checkout).to_have_count(1)
    expect(page.locator(".opblock-get").filter(has_text="/api/v1/products/{product_id}").first).to_be_visible()
    # Every operation of the document is listed (each is one block).
    assert page.locator(".opblock").count() == page.evaluate(
        """async () => {
            const doc = await (await fetch("/api/v1/openapi.json")).json();
            return Object.values(doc.paths).reduce((n, ops) => n + Object.keys(ops).length, 0);
        }"""
    )
    # The bearer scheme can be entered through "Authorize".
    expect(page.get_by_role("button", name="Authorize")).to_be_visible()
    # Nothing came from anywhere but the app itself.
    assert requested and all(url.startswith(server) for url in requested), requested
