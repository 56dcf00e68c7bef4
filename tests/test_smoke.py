from __future__ import annotations

import httpx


def test_health_and_openapi(api: httpx.Client) -> None:
    assert api.get("/healthz").json() == {"status": "ok"}
    ready = api.get("/readyz")
    assert ready.status_code == 200, ready.text
    spec = api.get("/api/v1/openapi.json").json()
    assert spec["info"]["title"] == "Mercato API"
    assert "/api/v1/products" in spec["paths"]
