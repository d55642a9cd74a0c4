"""Language detection and language-aware formatting."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from bot.i18n import (
    brand_in_sentence,
    brand_name,
    detect_language,
    fold_diacritics,
    format_day,
    format_moment,
    format_money,
    language_from_accept,
    normalize_language,
    resolve_language,
    valid_timezone,
)
from bot.security.inbound import clean_metadata

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
    assert brand_name("UnionPay", "zh") == "银联"
    assert brand_name("UnionPay", "lv") == "UnionPay"
    assert brand_name("Visa", "zh") == "Visa"


def test_brand_names_sit_in_a_chinese_sentence_without_stray_spaces() -> None:
    assert brand_name("Mastercard", "zh") == "万事达"
    assert brand_name("American Express", "zh") == "美国运通"
    assert brand_in_sentence("UnionPay", "zh") == "银联"
    assert brand_in_sentence("Visa", "zh") == " Visa "
    assert brand_in_sentence("Visa", "lv") == "Visa"


MOMENT = dt.datetime(2026, 12, 2, 15, 10, tzinfo=dt.timezone.utc)
SAME_YEAR = dt.datetime(2026, 11, 30, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize(
    "zone, language, expected",
    [
        ("Europe/Riga", "lv", "2. decembris 17:10 (Rīgas laiks)"),
        ("Asia/Shanghai", "zh", "12月2日 23:10（北京时间）"),
        ("Europe/Riga", "en", "December 2, 5:10\u202fPM (Riga time)"),
        ("America/New_York", "en", "December 2, 10:10\u202fAM (New York time)"),
        ("America/New_York", "lv", "2. decembris 10:10 (Ņujorkas laiks)"),
        ("America/New_York", "zh", "12月2日 10:10（纽约时间）"),
        ("Asia/Shanghai", "lv", "2. decembris 23:10 (Pekinas laiks)"),
        ("Asia/Shanghai", "en", "December 2, 11:10\u202fPM (Beijing time)"),
        ("Europe/Helsinki", "lv", "2. decembris 17:10 (Helsinku laiks)"),
        ("Europe/Paris", "lv", "2. decembris 16:10 (Parīzes laiks)"),
        ("America/Toronto", "lv", "2. decembris 10:10 (Toronto laiks)"),
        # No name a Latvian or Chinese reader would know: the offset instead.
        ("Asia/Kolkata", "zh", "12月2日 20:40（UTC+5:30）"),
        ("Etc/GMT+5", "en", "December 2, 10:10\u202fAM (UTC-5)"),
        # No zone known, or one that is not an IANA name: UTC, named as such.
        (None, "lv", "2. decembris 15:10 (UTC)"),
        (None, "zh", "12月2日 15:10（UTC）"),
        (None, "en", "December 2, 3:10\u202fPM (UTC)"),
        ("Mars/Olympus_Mons", "lv", "2. decembris 15:10 (UTC)"),
        ("UTC", "zh", "12月2日 15:10（UTC）"),
    ],
)
def test_times_are_local_with_the_zone_named_in_the_language(zone, language, expected) -> None:
    assert format_moment(MOMENT, language, zone, SAME_YEAR) == expected


def test_summer_time_is_the_zone_s_own() -> None:
    july = dt.datetime(2027, 7, 1, 15, 10, tzinfo=dt.timezone.utc)
    assert format_moment(july, "lv", "Europe/Riga", july) == "1. jūlijs 18:10 (Rīgas laiks)"


def test_another_year_is_named() -> None:
    assert format_moment(MOMENT, "en", "Europe/Riga", dt.datetime(2027, 2, 1)) == (
        "December 2, 2026, 5:10\u202fPM (Riga time)"
    )


@pytest.mark.parametrize(
    "value, expected",
    [
        ("Europe/Riga", "Europe/Riga"),
        ("Asia/Shanghai", "Asia/Shanghai"),
        ("europe/riga", None),
        ("../../etc/passwd", None),
        ("", None),
        ("Europe/" + "x" * 100, None),
        (42, None),
        (None, None),
    ],
)
def test_only_iana_time_zone_names_are_accepted(value, expected) -> None:
    assert valid_timezone(value) == expected


def test_the_channels_keep_a_valid_time_zone_and_drop_a_bad_one() -> None:
    assert clean_metadata({"language": "lv", "timezone": "Europe/Riga"}) == {
        "language": "lv",
        "timezone": "Europe/Riga",
    }
    assert clean_metadata({"language": "lv", "timezone": "Moon/Base"}) == {"language": "lv"}
    assert clean_metadata({"timezone": {"nested": "Europe/Riga"}}) == {}


@pytest.mark.parametrize(
    "header, expected",
    [
        ("lv-LV,lv;q=0.9,en-US;q=0.8,en;q=0.7", "lv"),
        ("zh-CN,zh;q=0.9", "zh"),
        ("de-DE,de;q=0.9,en;q=0.5,zh;q=0.6", "zh"),
        ("en;q=0.2, lv;q=0.3", "lv"),
        ("de-DE,fr;q=0.8", None),
        ("lv;q=0", None),
        ("lv;q=abc,en", "en"),
        ("", None),
        (None, None),
    ],
)
def test_the_browser_s_preferred_language(header, expected) -> None:
    assert language_from_accept(header) == expected
