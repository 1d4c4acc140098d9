"""Exact conversion between the API's decimal strings and the system's integers.

Money never touches ``float``. A decimal string is parsed digit by digit into an integer number
of minor units; a value with more fractional digits than the unit allows is rejected, never
rounded (trailing zeros are fine: ``"1.50"`` is 150 cents).
"""

import re

# Unsigned decimal, no exponent, no sign, no leading zeros, at most 30 integer digits.
_DECIMAL = re.compile(r"(0|[1-9][0-9]{0,29})(?:\.([0-9]{1,30}))?")


class NotRepresentableError(ValueError):
    """The text is not an exact, non-negative decimal representable with the given decimals."""


def parse_units(text: str, decimals: int) -> int:
    """Parse ``text`` into an integer count of ``10**-decimals`` units.

    >>> parse_units("30000.50", 2)
    3000050
    >>> parse_units("0.1", 0)
    Traceback (most recent call last):
    ...
    trading.domain.numbers.NotRepresentableError: '0.1' has more than 0 decimal places
    """
    if not isinstance(text, str):
        raise NotRepresentableError(f"{text!r} is not a decimal string")
    match = _DECIMAL.fullmatch(text)
    if match is None:
        raise NotRepresentableError(f"{text!r} is not a plain decimal number")
    whole, fraction = match.group(1), (match.group(2) or "")
    significant = fraction.rstrip("0")
    if len(significant) > decimals:
        raise NotRepresentableError(f"{text!r} has more than {decimals} decimal places")
    scale: int = 10**decimals
    return int(whole) * scale + (int(significant.ljust(decimals, "0")) if decimals else 0)


def format_units(value: int, decimals: int) -> str:
    """Render an integer count of ``10**-decimals`` units as a decimal string.

    The result always carries exactly ``decimals`` fractional digits, so it round-trips through
    :func:`parse_units` and sorts/compares the same way for every value of one asset.

    >>> format_units(3000050, 2)
    '30000.50'
    >>> format_units(-5, 3)
    '-0.005'
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected int units, got {type(value).__name__}")
    sign = "-" if value < 0 else ""
    whole, fraction = divmod(abs(value), 10**decimals)
    if decimals == 0:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{fraction:0{decimals}d}"


def ceil_div(numerator: int, denominator: int) -> int:
    """Integer ceiling division for non-negative numerator and positive denominator."""
    return -(-numerator // denominator)
