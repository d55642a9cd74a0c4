"""The insights page's HTML: charts with text alternatives, tables, the reader's locale."""

from __future__ import annotations

import datetime as dt
import re
from types import MappingProxyType

import pytest
from babel import Locale
from sqlalchemy.engine import Engine

from bot.db import session_scope
from bot.insights.metrics import BadPeriod, Period, compute
from bot.insights.page import MAX_DAYS, period_from, reader_locale, render
from bot.nlu.inbox import record
from tests.insights.history import at, build_known_history

NOVEMBER = Period(dt.date(2026, 11, 1), dt.date(2026, 11, 3))
FORM = {"since": "2026-11-01", "until": "2026-11-03", "lang": "", "data": "real"}
TODAY = dt.date(2026, 11, 30)


@pytest.fixture
def history(engine: Engine) -> Engine:
    with session_scope(engine) as session:
        build_known_history(session)
    return engine


def _page(engine: Engine, locale: str = "en_US", period: Period = NOVEMBER) -> str:
    insights = compute(engine, period, locale)
    return render(insights, locale=Locale.parse(locale), form=FORM, today=TODAY)


def test_charts_have_text_alternatives_and_the_numbers_are_tables(history: Engine) -> None:
    html = _page(history)
    charts = re.findall(r'<svg class="chart"[^>]*role="img"[^>]*>', html)
    # One per currency over time, outcomes per language, the funnel, handoff reasons.
    assert len(charts) == 4 + 3
    for title, desc in re.findall(r"<title id=[^>]*>([^<]*)</title><desc id=[^>]*>([^<]*)<", html):
        assert title and re.search(r"\d", desc), (title, desc)
    assert "Amount recovered in CNY per day" in html
    assert "Of 5 conversations about a declined charge, 4 chose a way to fix it and 4 paid." in html
    tables = re.findall(r"<caption>([^<]*)</caption>", html)
    assert tables == [
        "Amount recovered per day (periods with payments)",
        "Billing conversations per language",
        "Declined, option chosen, paid",
        "Which way the balances were settled",
        "Decline reasons seen, and whether the balance was then paid",
        "Handoffs per reason and language",
        "Messages not understood per language",
        "Most frequent messages not understood",
    ]
    assert '<a href="/console/inbox?lang=lv">NLU inbox</a>' in html
    assert "CN¥1,080.00" in html and "60%" in html and "27.5 min" in html


def test_numbers_follow_the_readers_locale(history: Engine) -> None:
    latvian = _page(history, "lv_LV")
    assert "25,50\xa0€" in latvian and "27,5 min" in latvian
    assert "2026. gada 1. nov." in latvian  # the period, as Latvian writes a date
    german = _page(history, "de_DE")
    assert "1.080,00\xa0CN¥" in german
    # The texts stay English whatever the locale.
    assert "Settled by the bot alone" in german


def test_one_language_and_an_empty_period(history: Engine) -> None:
    latvian = _page(history, period=Period(NOVEMBER.since, NOVEMBER.until, language="lv"))
    shown = latvian.split('id="insights-scope"')[1]  # after the filters' choices
    assert "Latvian" in shown and "Chinese" not in shown and "English" not in shown
    empty = _page(history, period=Period(dt.date(2025, 1, 1), dt.date(2025, 1, 31)))
    assert "No payments in this period." in empty and "Nothing in this period." in empty


def test_the_page_shows_no_card_number_or_token(history: Engine) -> None:
    with session_scope(history) as session:
        for number in range(3):  # the most frequent not-understood text
            record(
                session,
                conversation_id=f"c-{number}",
                message_id="m",
                text="my card is 4000 0566 5566 5556 ok",
                language="en",
                intent="nlu_fallback",
                confidence=0.2,
                reason="fallback",
            )
    # The inbox stamps its items with the real clock: the period reaches today.
    today = max(TODAY, dt.datetime.now(dt.timezone.utc).date())
    html = _page(history, period=Period(NOVEMBER.since, today))
    assert "my card is •••• •••• •••• •••• ok" in html
    # No 13 or more digits in one text, whatever separates them.
    assert not re.search(r"\d(?:[ \-.]?\d){12,}", re.sub(r"<[^>]+>", "|", html))
    assert "eyJ" not in html and "customer_ref" not in html and "conv-" not in html


def test_the_readers_locale_comes_from_accept_language() -> None:
    assert str(reader_locale("lv-LV,lv;q=0.9,en;q=0.8")) == "lv_LV"
    assert str(reader_locale("en;q=0.5, de-DE")) == "de_DE"
    assert str(reader_locale("xx-YY, *")) == "en_US"
    assert str(reader_locale(None)) == "en_US"


def test_the_query_string_becomes_a_period() -> None:
    period, form = period_from(MappingProxyType({"lang": "zh", "data": "demo"}), TODAY)
    assert (period.since, period.until, period.language, period.demo) == (
        dt.date(2026, 11, 1),
        TODAY,
        "zh",
        True,
    )
    assert form["since"] == "2026-11-01"
    with pytest.raises(BadPeriod, match="YYYY-MM-DD"):
        period_from({"since": "1.11.2026"}, TODAY)
    with pytest.raises(BadPeriod, match="after it ends"):
        period_from({"since": "2026-11-05", "until": "2026-11-01"}, TODAY)
    with pytest.raises(BadPeriod, match=f"at most {MAX_DAYS} days"):
        period_from({"since": "2020-01-01"}, TODAY)
    with pytest.raises(BadPeriod, match="en, lv, zh"):
        period_from({"lang": "de"}, TODAY)
    assert at(1, 0).date() == dt.date(2026, 11, 1)
