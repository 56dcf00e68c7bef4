"""A fake of the platforms' servers (the one thing outside this machine): an ``httpx.MockTransport``
that serves the shared recorded bodies, records every request, and can be told to fail."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from mercato.connections.platforms import base
from tests.conftest import SHARED_DATA

CATALOG = SHARED_DATA / "catalog"
Handler = Callable[[httpx.Request], httpx.Response]

# A 1024-bit RSA key made for these tests with `openssl genrsa` (the Wix app's key pair).
WIX_PUBLIC_KEY = """-----BEGIN PUBLIC KEY-----
MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDYl1k7omG4E31l/+izfyAjTPIk
hHvRJpW33KR43JrAaDOX+vizU9KuquA5qVusF+4yshBd9AB8ypJNQVEYgTKop4we
kDZ+XdKFikxKe8VFElZ17dmtvOkIaDm1ZP3HAwhsQycv9Ia6NE90fxkcYhN20GAU
oit2yXJRtO++3mxQvwIDAQAB
-----END PUBLIC KEY-----
"""
WIX_PRIVATE_EXPONENT = int(
    "5076b19cd8ef8aae1ae8f8d05f56bbfec14837cecc1ce043c0c1848cae1003a8f279e4afde1726eee2e6582595bbf24bf8a374"
    "37233dc71e8e898ad970cc16a027ce41a1b50b8007304c4ed84d465cfbf34da86af3ac7840e99bf2b4b8100ed41582ddb60cf08b"
    "62c4410dd914d3e74e282f4126c44421b5305bc6dba9075371", 16)


def load(relative: str) -> Any:
    text = (CATALOG / relative).read_text(encoding="utf-8")
    if relative.endswith(".jsonc"):
        text = "\n".join(line.split("//")[0] for line in text.splitlines())
    return json.loads(text)


def raw(relative: str) -> bytes:
    return (CATALOG / relative).read_bytes()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign_wix_jwt(claims: dict[str, Any]) -> str:
    """RS256 per RFC 7515 / RFC 8017 (EMSA-PKCS1-v1_5 with SHA-256), with the test key."""
    from hashlib import sha256  # lint: local-import (test helper only)

    from mercato.connections.signatures import rsa_public_key  # lint: local-import (test helper only)

    modulus, _ = rsa_public_key(WIX_PUBLIC_KEY)
    size = (modulus.bit_length() + 7) // 8
    signing_input = f"{b64url(json.dumps({'alg': 'RS256', 'kid': 'test'}).encode())}." \
                    f"{b64url(json.dumps(claims).encode())}"
    digest_info = bytes.fromhex("3031300d060960864801650304020105000420") + sha256(signing_input.encode()).digest()
    encoded = b"\x00\x01" + b"\xff" * (size - len(digest_info) - 3) + b"\x00" + digest_info
    signature = pow(int.from_bytes(encoded, "big"), WIX_PRIVATE_EXPONENT, modulus).to_bytes(size, "big")
    return f"{signing_input}.{b64url(signature)}"


@dataclass
class FakeStore:
    """Routes ``(method, path)`` to handlers; ``fail`` holds the paths that answer 500 next."""

    routes: dict[tuple[str, str], Handler] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)
    fail: dict[tuple[str, str], int] = field(default_factory=dict)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        route = (request.method, request.url.path)
        if self.fail.get(route):
            self.fail[route] -= 1
            return httpx.Response(500, json={"errors": [{"code": "INTERNAL_SERVER_ERROR"}]})
        handler = self.routes.get(route)
        if handler is None:
            return httpx.Response(404, json={"errors": [{"code": "NOT_FOUND"}]})
        return handler(request)

    def on(self, method: str, path: str, handler: Handler) -> None:
        self.routes[(method, path)] = handler

    def calls(self, method: str, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if (r.method, r.url.path) == (method, path)]


@pytest.fixture
def fake_store() -> Iterator[FakeStore]:
    store = FakeStore()
    base.set_transport(httpx.MockTransport(store.handle))
    try:
        yield store
    finally:
        base.set_transport(None)


def paths_of(data_dir: Path) -> list[str]:
    return sorted(p.name for p in data_dir.iterdir())
