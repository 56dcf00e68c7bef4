"""Each platform's documented webhook signature, verified over the exact bytes received.

- Shopify: ``X-Shopify-Hmac-Sha256`` = base64(HMAC-SHA256(app secret, raw body)).
- Square: ``x-square-hmacsha256-signature`` = base64(HMAC-SHA256(signature key,
  notification URL + raw body)).
- Ecwid: ``X-Ecwid-Webhook-Signature`` = base64(HMAC-SHA256(client secret,
  ``"{eventCreated}.{eventId}"``)) — the body's own fields, not the body.
- Wix: the body *is* a JWT signed RS256 with Wix's key for the app; verified with the app's public
  key (PEM). RSASSA-PKCS1-v1_5 verification is a modular exponentiation and a byte comparison, done
  here with the standard library so that no crypto dependency is needed for one check.

Every comparison is constant-time (``hmac.compare_digest``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

import orjson


class SignatureInvalid(ValueError):
    """The signature is missing or does not match."""


def hmac_sha256_b64(secret: str, message: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


def _check(expected: str, given: str | None) -> None:
    if not given or not hmac.compare_digest(expected.encode(), given.strip().encode()):
        raise SignatureInvalid("signature does not match")


def verify_shopify(secret: str, body: bytes, signature: str | None) -> None:
    _check(hmac_sha256_b64(secret, body), signature)


def verify_square(signature_key: str, notification_url: str, body: bytes, signature: str | None) -> None:
    _check(hmac_sha256_b64(signature_key, notification_url.encode() + body), signature)


def ecwid_signature(client_secret: str, event_created: int | str, event_id: str) -> str:
    return hmac_sha256_b64(client_secret, f"{event_created}.{event_id}".encode())


def verify_ecwid(client_secret: str, event_created: int | str, event_id: str, signature: str | None) -> None:
    _check(ecwid_signature(client_secret, event_created, event_id), signature)


# --------------------------------------------------------------------------- RS256 (Wix)

#: DER of DigestInfo { sha256 } before the 32-byte digest (RFC 8017, section 9.2, note 1).
_SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")
_RSA_OID = bytes.fromhex("2a864886f70d010101")


def _der(data: bytes, pos: int) -> tuple[int, int, int]:
    """``(tag, start of value, end of value)`` of the DER element at ``pos``."""
    tag = data[pos]
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        count = length & 0x7F
        length = int.from_bytes(data[pos:pos + count], "big")
        pos += count
    return tag, pos, pos + length


def rsa_public_key(pem: str) -> tuple[int, int]:
    """``(modulus, exponent)`` of a PEM ``PUBLIC KEY`` (SubjectPublicKeyInfo) or ``RSA PUBLIC KEY``."""
    lines = [ln.strip() for ln in pem.strip().splitlines() if ln.strip() and not ln.startswith("-----")]
    try:
        der = base64.b64decode("".join(lines), validate=True)
        _, start, _ = _der(der, 0)
        first, fstart, fend = _der(der, start)
        if first == 0x30:  # SubjectPublicKeyInfo: AlgorithmIdentifier, then a BIT STRING
            _, ostart, oend = _der(der, fstart)
            if der[ostart:oend] != _RSA_OID:
                raise SignatureInvalid("the public key is not an RSA key")
            btag, bstart, _ = _der(der, fend)
            if btag != 0x03:
                raise SignatureInvalid("unreadable public key")
            _, start, _ = _der(der, bstart + 1)  # skip the unused-bits byte
            first, fstart, fend = _der(der, start)
        if first != 0x02:
            raise SignatureInvalid("unreadable public key")
        modulus = int.from_bytes(der[fstart:fend], "big")
        _, estart, eend = _der(der, fend)
        exponent = int.from_bytes(der[estart:eend], "big")
    except (binascii.Error, IndexError) as exc:
        raise SignatureInvalid("unreadable public key") from exc
    return modulus, exponent


def _b64url(part: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (binascii.Error, ValueError) as exc:
        raise SignatureInvalid("malformed token") from exc


def verify_rs256_jwt(token: str, public_key_pem: str) -> dict[str, object]:
    """The claims of a JWT whose RS256 signature checks out with ``public_key_pem``."""
    parts = token.strip().split(".")
    if len(parts) != 3:
        raise SignatureInvalid("not a JWT")
    try:
        header = orjson.loads(_b64url(parts[0]))
    except orjson.JSONDecodeError as exc:
        raise SignatureInvalid("malformed token") from exc
    if not isinstance(header, dict) or header.get("alg") != "RS256":
        raise SignatureInvalid("the token is not signed with RS256")
    modulus, exponent = rsa_public_key(public_key_pem)
    size = (modulus.bit_length() + 7) // 8
    signature = _b64url(parts[2])
    if len(signature) != size:
        raise SignatureInvalid("signature does not match")
    encoded = pow(int.from_bytes(signature, "big"), exponent, modulus).to_bytes(size, "big")
    digest = hashlib.sha256(f"{parts[0]}.{parts[1]}".encode()).digest()
    tail = _SHA256_DIGEST_INFO + digest
    expected = b"\x00\x01" + b"\xff" * (size - len(tail) - 3) + b"\x00" + tail
    if not hmac.compare_digest(encoded, expected):
        raise SignatureInvalid("signature does not match")
    try:
        claims = orjson.loads(_b64url(parts[1]))
    except orjson.JSONDecodeError as exc:
        raise SignatureInvalid("malformed token") from exc
    if not isinstance(claims, dict):
        raise SignatureInvalid("malformed token")
    return claims
