"""Known-answer tests of each platform's documented webhook signature. The expected values were
computed outside Mercato (``openssl dgst -sha256 -hmac``; the Wix token signed with
``openssl dgst -sha256 -sign``), over the shared webhook files where the platform publishes one."""

from __future__ import annotations

import pytest

from mercato.connections import signatures as sig
from tests.connections.conftest import WIX_PUBLIC_KEY, load, raw, sign_wix_jwt

SQUARE_URL = "https://shop.example/api/v1/webhooks/stores/square/1"

# `openssl dgst -sha256 -sign` of the header and claims below with the tests' private key.
WIX_OPENSSL_JWT = (
    "eyJhbGciOiJSUzI1NiIsImtpZCI6InRlc3QifQ.eyJkYXRhIjoie1wiZXZlbnRUeXBlXCI6XCJ3aXguc3RvcmVzLnYxLnByb2R1Y3RfdXBk"
    "YXRlZFwiLFwiaW5zdGFuY2VJZFwiOlwiaW5zdC0xXCIsXCJkYXRhXCI6XCJ7XFxcImlkXFxcIjpcXFwiZXZ0LTFcXFwiLFxcXCJlbnRpdHlJ"
    "ZFxcXCI6XFxcInAxXFxcIixcXFwic2x1Z1xcXCI6XFxcInVwZGF0ZWRcXFwiLFxcXCJldmVudFRpbWVcXFwiOlxcXCIyMDI2LTEyLTA2VDAx"
    "OjAwOjAwWlxcXCJ9XCJ9IiwiaWF0IjoxNzk2NTE4ODAwfQ.asH94p2sHtU6US2FvIyPYcawNijW8RoPJG9gYM0Jf6wlTjWvE4nCS4tJyg04ok"
    "eYaDVYN3tK7K85uXbxRDWpPGZHZzhOudDiJ0ArwNDzH2YwdCSrI0SoOtuEtuTWe2CaIZPZ42XXux4utTfd-UJ6Q1mNOOg1jiy9Aua5bdAJx6c")


def test_shopify_hmac_of_the_raw_body() -> None:
    body = b'{"id":788032119674292922,"title":"Example T-Shirt"}'
    assert sig.hmac_sha256_b64("shpss_test_secret_41a", body) == "pfl6J22cPV+y1km4uaE5GzEpQtkpMAzp2qw+C6e6G1Y="
    sig.verify_shopify("shpss_test_secret_41a", body, "pfl6J22cPV+y1km4uaE5GzEpQtkpMAzp2qw+C6e6G1Y=")
    for wrong in (None, "", "pfl6J22cPV+y1km4uaE5GzEpQtkpMAzp2qw+C6e6G1Z=", "not base64"):
        with pytest.raises(sig.SignatureInvalid):
            sig.verify_shopify("shpss_test_secret_41a", body, wrong)
    with pytest.raises(sig.SignatureInvalid):  # one byte of the body changed
        sig.verify_shopify("shpss_test_secret_41a", body.replace(b"Shirt", b"shirt"),
                           "pfl6J22cPV+y1km4uaE5GzEpQtkpMAzp2qw+C6e6G1Y=")


def test_square_signs_the_notification_url_then_the_body() -> None:
    body = raw("square/webhook_inventory_count_updated.json")
    expected = "SvWMurUDGG26gsjSRWTqaBG+D8mO+xTjyf/ludUO0ZA="
    sig.verify_square("sq-signature-key-7c1e", SQUARE_URL, body, expected)
    with pytest.raises(sig.SignatureInvalid):  # the same body posted to another URL
        sig.verify_square("sq-signature-key-7c1e", SQUARE_URL.replace("/1", "/2"), body, expected)
    with pytest.raises(sig.SignatureInvalid):  # the body alone is not what Square signs
        sig.verify_square("sq-signature-key-7c1e", "", body, expected)


def test_ecwid_signs_event_created_dot_event_id_of_the_docs_example() -> None:
    event = load("ecwid/webhook_product_updated_doc.jsonc")
    assert (event["eventCreated"], event["eventId"]) == (1469429912, "08a78904-0aa0-4c1a-953a-2e33c56236f0")
    expected = "MCN45dnOCtuAgqCMmO/Zjx7G3NECmeIci6qYcmUcR3w="
    assert sig.ecwid_signature("ecwid-client-secret-9f2", event["eventCreated"], event["eventId"]) == expected
    with pytest.raises(sig.SignatureInvalid):
        sig.verify_ecwid("another-secret", event["eventCreated"], event["eventId"], expected)


def test_wix_rs256_token_signed_by_openssl_verifies_with_the_app_public_key() -> None:
    claims = sig.verify_rs256_jwt(WIX_OPENSSL_JWT, WIX_PUBLIC_KEY)
    assert claims["iat"] == 1796518800
    assert '"eventType":"wix.stores.v1.product_updated"' in str(claims["data"])


def test_wix_token_tampered_or_signed_otherwise_is_refused() -> None:
    header, payload, signature = WIX_OPENSSL_JWT.split(".")
    forged_claims = sign_wix_jwt({"data": "{}", "iat": 1})
    cases = [
        f"{header}.{forged_claims.split('.')[1]}.{signature}",  # claims swapped, signature kept
        f"{header}.{payload}.{signature[:-2]}AA",  # signature changed
        "eyJhbGciOiJIUzI1NiJ9." + payload + "." + signature,  # alg HS256: never accepted
        "not-a-token", "",
    ]
    for token in cases:
        with pytest.raises(sig.SignatureInvalid):
            sig.verify_rs256_jwt(token, WIX_PUBLIC_KEY)


def test_the_tests_rs256_signer_makes_tokens_the_verifier_accepts() -> None:
    """The webhook tests sign fresh Wix deliveries with the same key and algorithm as openssl did."""
    claims = sig.verify_rs256_jwt(WIX_OPENSSL_JWT, WIX_PUBLIC_KEY)
    assert sig.verify_rs256_jwt(sign_wix_jwt(claims), WIX_PUBLIC_KEY) == claims
