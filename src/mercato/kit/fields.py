"""Request field types shared by every domain: ids, ISO dates.

**Ids.** Every id the client sends — in a path (`PathId`) or in a body (`BodyId`) — is an
integer from 1 to 2^63−1, the range of the databases' ``BIGINT``. Anything else answers
``422 validation_error`` before a query runs: a larger integer reached the database drivers
before and failed there with a 500. In a path, a segment that is not decimal digits does not
match the route at all (``{order_id:int}``), so ``/coupons/preview`` is never taken for a
coupon id.

**Strict scalars.** Body integers and booleans are declared ``strict`` where they are declared:
a client that sends ``true``, ``"2"`` or ``2.0`` for a quantity has a bug, and coercing it
hides that bug. Dates are ISO strings only (`IsoDate`): pydantic's lax date also takes a
number of seconds since 1970. Query parameters stay lax — they are text by nature.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import Path
from pydantic import BeforeValidator, Field

from mercato.kit.errors import KitError, ValidationFailed

MAX_ID = 2**63 - 1

#: An id in a path (declare the segment ``{name:int}`` in the route's path as well).
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
#: An id in a request body: a JSON integer, nothing coerced.
BodyId = Annotated[int, Field(strict=True, ge=1, le=MAX_ID)]


def parse_id(text: str) -> int:
    """An id given as text where a path segment may also be a name (``/users/{ref}``)."""
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_ID:
        raise ValidationFailed("Not a valid id.", code=KitError.VALIDATION_ERROR,
                               details=[{"field": "ref", "message": f"an id is an integer from 1 to {MAX_ID}"}])
    return int(text)


_NUMBER = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*")


def _iso_date_only(value: Any) -> Any:
    # pydantic reads a number, or text that is a number, as seconds since 1970.
    if (isinstance(value, (int, float)) and not isinstance(value, bool)) or (
            isinstance(value, str) and _NUMBER.fullmatch(value)):
        raise ValueError("a date is an ISO 8601 string such as 2001-02-03")
    return value


#: A calendar date sent as ``YYYY-MM-DD`` (never a number).
IsoDate = Annotated[date, BeforeValidator(_iso_date_only)]
#: A moment sent as ISO 8601 text (never a number of seconds).
IsoDateTime = Annotated[datetime, BeforeValidator(_iso_date_only)]
