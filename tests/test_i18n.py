"""Language detection and language-aware formatting."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from bot.i18n import (
    detect_language,
    fold_diacritics,
    format_day,
    format_money,
    normalize_language,
    resolve_language,
)

NBSP = "\u00a0"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("My card payment was declined", "en"),
        ("I already paid but it still says past due", "en"),
        ("Mans kartes maksājums tika noraidīts", "lv"),
        ("mans maksajums netika pienemts", "lv"),
        ("kartes deriguma termins ir beidzies", "lv"),
        ("gribu runat ar cilveku", "lv"),
        ("paldies", "lv"),
        ("我的卡被decline了", "zh"),
        ("Visa卡过期了", "zh"),
        ("你好", "zh"),
    ],
)
def test_detects_the_language_of_a_message(text: str, expected: str) -> None:
    assert detect_language(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ('<img src=x onerror="window.pwned=1"><svg onload="alert(document.cookie)">', None),
        ("https://example.com/billing/settle-balance?subscription=microsoft", None),
        ("Skatiet <b>šo</b> saiti: https://example.com/help, kartes maksājums neizdevās", "lv"),
    ],
)
def test_markup_and_links_do_not_decide_the_language(text: str, expected: str | None) -> None:
    assert detect_language(text) == expected


@pytest.mark.parametrize("text", ["ok", "jā", "ne", "", "   ", "👍", "4242", "?!"])
def test_a_short_or_ambiguous_message_has_no_language(text: str) -> None:
    assert detect_language(text) is None


@pytest.mark.parametrize(
    "amount, currency, language, expected",
    [
        ("25.50", "EUR", "lv", f"25,50{NBSP}€"),
        ("1080.00", "CNY", "zh", "¥1,080.00"),
        ("6.00", "USD", "en", "$6.00"),
    ],
)
def test_money_is_formatted_for_the_language(amount, currency, language, expected) -> None:
    assert format_money(Decimal(amount), currency, language) == expected


@pytest.mark.parametrize(
    "language, expected",
    [("en", "November 1, 2026"), ("lv", "2026. gada 1. novembris"), ("zh", "2026年11月1日")],
)
def test_dates_are_formatted_for_the_language(language: str, expected: str) -> None:
    assert format_day(dt.date(2026, 11, 1), language) == expected


def test_diacritics_fold_to_how_latvian_is_typed_without_them() -> None:
    assert fold_diacritics("derīguma termiņš beidzās, ķēžu ģērbonis") == (
        "deriguma termins beidzas, kezu gerbonis"
    )


@pytest.mark.parametrize(
    "value, expected",
    [
        ("lv", "lv"),
        ("LV", "lv"),
        ("lv-LV", "lv"),
        ("zh_CN", "zh"),
        ("de", None),
        (None, None),
        (5, None),
    ],
)
def test_language_codes_are_normalized(value, expected) -> None:
    assert normalize_language(value) == expected


def test_resolution_takes_the_first_supported_language() -> None:
    assert resolve_language(None, "fr", "zh", "lv") == "zh"
    assert resolve_language(None) == "en"


def test_brands_are_named_as_the_customer_knows_them() -> None:
    from bot.i18n import brand_name

    assert brand_name("UnionPay", "zh") == "银联"
    assert brand_name("UnionPay", "lv") == "UnionPay"
    assert brand_name("Visa", "zh") == "Visa"
