"""Money as integers in minor units.

Every amount in Mercato is an ``int`` of minor units plus an ISO-4217 currency
code. This module is the one place that knows how many decimals a currency has,
how to parse a decimal string from an import file into minor units, how to show
an amount to a person, and how to split an amount without losing a unit.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

# ISO-4217 minor-unit exponents that differ from 2, plus the common 2-decimal ones.
_EXPONENTS: dict[str, int] = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
    "PYG": 0, "RWF": 0, "UGX": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}
_TWO_DECIMALS = {
    "USD", "EUR", "GBP", "CAD", "AUD", "NZD", "CHF", "SEK", "NOK", "DKK", "PLN", "CZK",
    "HUF", "RON", "BGN", "MXN", "BRL", "ARS", "COP", "PEN", "ZAR", "INR", "IDR", "MYR",
    "PHP", "SGD", "THB", "TWD", "HKD", "CNY", "TRY", "ILS", "AED", "SAR", "EGP", "NGN",
    "KES", "GHS", "MAD", "PKR", "BDT", "LKR", "UAH",
}
_SYMBOLS: dict[str, str] = {
    "USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CNY": "¥", "KRW": "₩", "INR": "₹",
    "CAD": "CA$", "AUD": "A$", "BRL": "R$", "MXN": "MX$", "KWD": "د.ك", "BHD": ".د.ب",
}
SUPPORTED_CURRENCIES: frozenset[str] = frozenset(_EXPONENTS) | frozenset(_TWO_DECIMALS)


class MoneyError(ValueError):
    """A money value that cannot be represented exactly."""


def exponent(currency: str) -> int:
    """Number of decimals of ``currency`` (0 for JPY, 2 for USD, 3 for KWD)."""
    code = currency.upper()
    if code in _EXPONENTS:
        return _EXPONENTS[code]
    if code in _TWO_DECIMALS:
        return 2
    raise MoneyError(f"unsupported currency {currency!r}")


def is_supported(currency: str) -> bool:
    return currency.upper() in SUPPORTED_CURRENCIES


def parse_amount(text: str, currency: str) -> int:
    """Parse a decimal string such as ``"19.99"`` or ``".5"`` into minor units.

    Thousands separators (``1,299.00``) are accepted; more decimals than the
    currency has, negative values and non-numbers raise :class:`MoneyError`.
    """
    cleaned = text.strip().replace(",", "").replace(" ", "")
    if not cleaned:
        raise MoneyError("empty amount")
    try:
        value = Decimal(cleaned)
    except InvalidOperation as exc:
        raise MoneyError(f"not a number: {text!r}") from exc
    if not value.is_finite():
        raise MoneyError(f"not a number: {text!r}")
    if value < 0:
        raise MoneyError(f"negative amount: {text!r}")
    scaled = value.scaleb(exponent(currency))
    if scaled != scaled.to_integral_value():
        raise MoneyError(f"{text!r} has more decimals than {currency.upper()} allows")
    return int(scaled)


def to_decimal(amount: int, currency: str) -> Decimal:
    return Decimal(amount).scaleb(-exponent(currency))


def format_money(amount: int, currency: str) -> str:
    """Human form with symbol and the currency's decimals: ``$12.00``, ``¥1,200``."""
    exp = exponent(currency)
    value = to_decimal(amount, currency).quantize(Decimal(1).scaleb(-exp), rounding=ROUND_HALF_EVEN)
    number = f"{value:,.{exp}f}"
    code = currency.upper()
    symbol = _SYMBOLS.get(code)
    if symbol is None:
        return f"{number} {code}"
    if code in {"KWD", "BHD"}:
        return f"{number} {symbol}"
    return f"{symbol}{number}"


def allocate(amount: int, weights: list[int]) -> list[int]:
    """Split ``amount`` in proportion to ``weights`` so the parts sum exactly.

    Leftover minor units go one by one to the parts with the largest remainders,
    ties broken by position: deterministic, and never loses or invents a unit.
    """
    if not weights or any(w < 0 for w in weights) or sum(weights) == 0:
        raise MoneyError("weights must be non-negative and not all zero")
    total = sum(weights)
    floors = [amount * w // total for w in weights]
    remainders = [amount * w % total for w in weights]
    leftover = amount - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
    for i in order[:leftover]:
        floors[i] += 1
    return floors


def apply_rate_bps(amount: int, rate_bps: int) -> int:
    """``amount × rate`` with the rate in basis points, rounded half-even."""
    return int((Decimal(amount) * rate_bps / Decimal(10_000)).to_integral_value(rounding=ROUND_HALF_EVEN))
