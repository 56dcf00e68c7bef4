"""The API holds its OpenAPI contract (R12): the document is valid and says who may call each
operation and how it fails, and a bounded schemathesis run over every operation — anonymous, then
signed in — finds no server error and no answer the document does not describe.

schemathesis runs as its command-line tool in a process of its own (as an outside tester would run
it), against the live server over real HTTP, with every check, a fixed seed and a small number of
examples per operation so that the run stays within a few minutes."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mercato.config import Settings
from tests.harness import LiveServer

ST = Path(sys.executable).with_name("st")
CONFIG = Path(__file__).with_name("schemathesis.toml")
ERROR_REF = {"$ref": "#/components/schemas/Error"}
SEED = 18
#: Per operation and phase; raise it locally for a deeper run (MERCATO_CONTRACT_EXAMPLES=100).
MAX_EXAMPLES = int(os.environ.get("MERCATO_CONTRACT_EXAMPLES", "20"))


@pytest.fixture(scope="module")
def stripe_ready_server(settings: Settings) -> Iterator[str]:
    """The app as deployed with Stripe webhooks configured: unconfigured, the Stripe webhook answers
    ``503`` (documented), which schemathesis counts as a server error whatever the document says."""
    from mercato.app import create_app

    server = LiveServer(create_app(settings.model_copy(update={"stripe_webhook_secret": "whsec_contract"}),
                                   migrate=False))
    server.start()
    yield server.url
    server.stop()


def _document(api: httpx.Client) -> dict[str, Any]:
    response = api.get("/api/v1/openapi.json")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def test_the_document_is_valid_openapi(api: httpx.Client) -> None:
    from openapi_spec_validator import validate

    document = _document(api)
    validate(document)  # raises on any violation of the OpenAPI 3.1 specification
    assert document["openapi"].startswith("3.1")


def test_security_schemes_and_their_use(api: httpx.Client) -> None:
    document = _document(api)
    schemes = document["components"]["securitySchemes"]
    assert (schemes["bearerAuth"]["type"], schemes["bearerAuth"]["scheme"]) == ("http", "bearer")
    assert (schemes["sessionCookie"]["in"], schemes["sessionCookie"]["name"]) == ("cookie", "mercato_session")
    assert (schemes["csrfHeader"]["in"], schemes["csrfHeader"]["name"]) == ("header", "X-CSRF-Token")
    paths = document["paths"]

    # Signed in only: bearer, or the cookie (with the CSRF pair on writes).
    me = paths["/api/v1/me"]["get"]
    assert me["security"] == [{"bearerAuth": []}, {"sessionCookie": []}]
    assert set(me["responses"]) == {"200", "401"}
    pay = paths["/api/v1/checkouts/{checkout_id}/pay"]["post"]
    assert pay["security"] == [{"bearerAuth": []}, {"sessionCookie": [], "csrfCookie": [], "csrfHeader": []}]
    assert {"401", "402", "403", "404", "409", "413", "422"} <= set(pay["responses"])
    # Operators only: 403.
    assert "403" in paths["/api/v1/admin/ledger"]["get"]["responses"]
    # Signed in or not: optional security (an empty requirement), and 401 for a bad bearer token.
    foryou = paths["/api/v1/feed/foryou"]["get"]
    assert foryou["security"][0] == {}
    assert "401" in foryou["responses"]
    assert paths["/api/v1/products/{product_id}"]["get"]["security"][0] == {}
    # Public: no security at all.
    assert "security" not in paths["/api/v1/categories"]["get"]
    assert set(paths["/api/v1/categories"]["get"]["responses"]) == {"200"}
    assert "security" not in paths["/api/v1/auth/login"]["post"]
    assert "429" in paths["/api/v1/auth/login"]["post"]["responses"]
    # Webhooks: signature headers declared, 503 when Stripe is not configured.
    stripe = paths["/api/v1/webhooks/stripe"]["post"]
    assert "503" in stripe["responses"]
    assert {(p["in"], p["name"].lower()) for p in stripe["parameters"]} >= {("header", "stripe-signature")}
    sandbox = paths["/api/v1/webhooks/sandbox"]["post"]
    assert {(p["in"], p["name"].lower()) for p in sandbox["parameters"]} >= {
        ("header", "webhook-id"), ("header", "webhook-timestamp"), ("header", "webhook-signature")}


def test_every_failure_has_the_error_shape(api: httpx.Client) -> None:
    document = _document(api)
    error = document["components"]["schemas"]["Error"]
    assert error["required"] == ["error"]
    assert error["properties"]["error"]["required"] == ["code", "message", "details"]
    assert "HTTPValidationError" not in document["components"]["schemas"]
    failures = 0
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, answer in operation["responses"].items():
                if int(status) >= 400:
                    failures += 1
                    assert answer["content"] == {"application/json": {"schema": ERROR_REF}}, (method, path, status)
    assert failures > 300


def _seed_world(api: httpx.Client, make_user: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    """A signed-in user who owns a shop with a product, so that lookups and seller routes find something."""
    user = make_user("contract")
    shop = api.post("/api/v1/shops", headers=user["headers"],
                    json={"name": "Contract Shop", "slug": "contract-shop", "currency": "USD"})
    assert shop.status_code == 201, shop.text
    product = api.post("/api/v1/shops/contract-shop/products", headers=user["headers"], json={
        "title": "Contract Tee", "status": "active", "variants": [{"sku": "CT-1", "price": 1500, "stock": 50}]})
    assert product.status_code == 201, product.text
    return user


def _schemathesis(server: str, workdir: Path, *options: str) -> tuple[int, str]:
    command = [
        str(ST), "--config-file", str(CONFIG), "run", f"{server}/api/v1/openapi.json",
        "--checks", "all", "--seed", str(SEED),
        "--max-examples", str(MAX_EXAMPLES), "--phases", "examples,coverage,fuzzing", "--workers", "1",
        "--request-timeout", "30", "--no-shrink", "--warnings", "off",
    ]
    command += options
    done = subprocess.run(command, capture_output=True, text=True, timeout=1800, cwd=workdir,
                          env={**os.environ, "NO_COLOR": "1"})
    return done.returncode, done.stdout + done.stderr


@pytest.mark.parametrize("who", ["anonymous", "signed_in"])
def test_schemathesis_finds_no_server_error_and_no_undocumented_answer(
    who: str, stripe_ready_server: str, api: httpx.Client, make_user: Callable[..., dict[str, Any]], tmp_path: Path,
) -> None:
    user = _seed_world(api, make_user)
    # Signed in, log-out is left to the anonymous pass: it would end the session the rest of the run uses.
    extra = ["-H", f"Authorization: Bearer {user['token']}", "--exclude-name", "POST /api/v1/auth/logout"]
    # In the test's own folder: schemathesis keeps a cache where it runs.
    code, output = _schemathesis(stripe_ready_server, tmp_path, *(extra if who == "signed_in" else []))
    summary = output[output.rfind("=== SUMMARY ==="):] if "=== SUMMARY ===" in output else output[-3000:]
    assert code == 0, f"{summary}\n\n--- failures (last 30,000 characters) ---\n{output[-30000:]}"


def test_the_status_table_names_only_existing_operations(settings: Settings) -> None:
    """A route renamed or removed without its entry in mercato/openapi.py fails the document's build."""
    from fastapi.openapi.utils import get_openapi

    from mercato.app import create_app
    from mercato.kit import openapi

    app = create_app(settings, migrate=False)
    document = get_openapi(title=app.title, version=app.version, routes=app.routes)
    with pytest.raises(ValueError, match=r"\('patch', '/api/v1/no-such-route'\)"):
        openapi.complete(app, document, {("patch", "/api/v1/no-such-route"): {409: "Conflict."}})
    completed = openapi.complete(app, get_openapi(title=app.title, version=app.version, routes=app.routes),
                                 {("post", "/api/v1/shops"): {409: "Slug taken."}})
    assert completed["paths"]["/api/v1/shops"]["post"]["responses"]["409"]["description"] == "Slug taken."
