"""Error codes of the connections domain (documented in docs/api.md)."""

from __future__ import annotations

from enum import StrEnum


class ConnectionsError(StrEnum):
    UNKNOWN_PLATFORM = "unknown_platform"
    ALREADY_CONNECTED = "already_connected"
    CONNECTION_NOT_FOUND = "connection_not_found"
    WEBHOOK_SIGNATURE_INVALID = "webhook_signature_invalid"
    WEBHOOK_TIMESTAMP_INVALID = "webhook_timestamp_invalid"
    WEBHOOK_MALFORMED = "webhook_malformed"
