"""Expiry dates as customers type them."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.billing.expiry import Expiry, ExpiryError, parse_expiry

TODAY = dt.date(2026, 11, 22)


@pytest.mark.parametrize(
    "text",
    [
        "12/27", "12/2027", "12-2027", "12.2027", " 12 / 27 ", "2027-12", "2027/12",
        "Dec 2027", "december 2027", "December, 2027", "dec '27", "Dec 27",
        "decembris 2027", "2027. gada decembris", "2027. gada decembrī", "decembrim 2027",
        "2027. gada decembri", "2027年12月", "27年12月", "2027 年 12 月份",
        "change it to 12/2027 please", "jaunais termiņš ir 12/27", "有效期改成2027年12月",
    ],
)  # fmt: skip
def test_every_written_form_of_december_2027(text: str) -> None:
    assert parse_expiry(text, TODAY) == Expiry(2027, 12)


@pytest.mark.parametrize(
    "text, expected",
    [("marts 2028", (2028, 3)), ("2029. gada jūnijs", (2029, 6)), ("julijs 2029", (2029, 7)),
     ("maijs 2030", (2030, 5)), ("May 2030", (2030, 5)), ("3/28", (2028, 3)),
     ("11/2026", (2026, 11)), ("31年1月", (2031, 1)), ("01 2028", (2028, 1)), ("1 2 3", None)],
)  # fmt: skip
def test_months_by_name_and_number(text: str, expected) -> None:
    if expected is None:
        with pytest.raises(ExpiryError):
            parse_expiry(text, TODAY)
    else:
        assert parse_expiry(text, TODAY) == Expiry(*expected)


@pytest.mark.parametrize(
    "text, reason",
    [
        ("10/2026", ExpiryError.IN_THE_PAST),
        ("03/2026", ExpiryError.IN_THE_PAST),
        ("2025年12月", ExpiryError.IN_THE_PAST),
        ("12/2046", ExpiryError.TOO_FAR_AHEAD),
        ("2050-01", ExpiryError.TOO_FAR_AHEAD),
        ("13/2027", ExpiryError.NOT_A_DATE),
        ("00/27", ExpiryError.NOT_A_DATE),
        ("next year sometime", ExpiryError.NOT_A_DATE),
        ("nezinu", ExpiryError.NOT_A_DATE),
        ("不知道", ExpiryError.NOT_A_DATE),
        ("", ExpiryError.NOT_A_DATE),
        ("4242 4242 4242 4242", ExpiryError.NOT_A_DATE),
    ],
)
def test_unusable_expiries_say_why(text: str, reason: str) -> None:
    with pytest.raises(ExpiryError) as error:
        parse_expiry(text, TODAY)
    assert error.value.reason == reason


def test_the_limits_are_inclusive() -> None:
    assert parse_expiry("11/2026", TODAY) == Expiry(2026, 11)
    assert parse_expiry("11/2046", TODAY) == Expiry(2046, 11)
    assert str(Expiry(2027, 3)) == "03/2027"
