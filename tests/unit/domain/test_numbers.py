import pytest
from hypothesis import given
from hypothesis import strategies as st
from trading.domain.numbers import NotRepresentableError, format_units, parse_units


@pytest.mark.parametrize(
    ("text", "decimals", "units"),
    [
        ("30000.50", 2, 3000050),
        ("1.50", 2, 150),
        ("0", 4, 0),
        ("0.0001", 4, 1),
        ("7", 0, 7),
        ("1.000", 2, 100),
    ],
)
def test_exact_decimals_parse_to_integer_units(text: str, decimals: int, units: int) -> None:
    assert parse_units(text, decimals) == units


@pytest.mark.parametrize(
    "text",
    ["0.001", "1e5", "-1", "+1", "01", "1.", ".5", "", " 1", "1,5", "NaN", "inf", "1" * 31],
)
def test_anything_else_is_rejected_not_rounded(text: str) -> None:
    with pytest.raises(NotRepresentableError):
        parse_units(text, 2)


def test_non_strings_are_rejected() -> None:
    with pytest.raises(NotRepresentableError):
        parse_units(1.5, 2)  # type: ignore[arg-type]


@given(st.integers(min_value=0, max_value=10**20), st.integers(min_value=0, max_value=12))
def test_format_and_parse_round_trip(units: int, decimals: int) -> None:
    assert parse_units(format_units(units, decimals), decimals) == units
