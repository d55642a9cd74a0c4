"""The console's insights page as HTML: filters, summary, SVG charts and their tables.

Texts are English (the agents' language); numbers, money and dates are written
as the reader's locale writes them. The page shows counts, sums and the texts of
messages not understood (masked before they were stored), nothing else about a
customer: no names, conversation ids, card data or tokens.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from babel import Locale, UnknownLocaleError
from markupsafe import Markup

from bot.insights.metrics import BadPeriod, Period
from bot.insights.report import LANGUAGE_NAMES
from bot.insights.sections import (
    Numbers,
    funnel,
    handoffs,
    not_understood,
    outcomes_by_language,
    recovered_over_time,
    summary,
)
from bot.templating import render as render_template

DEFAULT_DAYS = 30
MAX_DAYS = 731
DEFAULT_LOCALE = Locale.parse("en_US")


def reader_locale(header: str | None) -> Locale:
    """The first locale of the browser's Accept-Language that Babel knows."""
    ranked = []
    for position, part in enumerate((header or "").split(",")):
        tag, _, quality = part.strip().partition(";q=")
        try:
            weight = float(quality) if quality else 1.0
        except ValueError:
            continue
        if tag and tag != "*":
            ranked.append((-weight, position, tag))
    for _, _, tag in sorted(ranked):
        try:
            return Locale.parse(tag, sep="-")
        except (UnknownLocaleError, ValueError):
            continue
    return DEFAULT_LOCALE


def period_from(args: Any, today: dt.date) -> tuple[Period, dict[str, str]]:
    """The period the query string asks for, and the form's values to show again.

    Raises:
        BadPeriod: a date that is not YYYY-MM-DD, an unknown language, or a bad range.
    """
    form = {
        "since": (args.get("since") or "").strip(),
        "until": (args.get("until") or "").strip(),
        "lang": (args.get("lang") or "").strip(),
        "data": "demo" if args.get("data") == "demo" else "real",
    }
    try:
        until = dt.date.fromisoformat(form["until"]) if form["until"] else today
        since = (
            dt.date.fromisoformat(form["since"])
            if form["since"]
            else until - dt.timedelta(days=DEFAULT_DAYS - 1)
        )
    except ValueError:
        raise BadPeriod("write the dates as YYYY-MM-DD, e.g. 2026-11-01") from None
    form["since"], form["until"] = since.isoformat(), until.isoformat()
    if (until - since).days + 1 > MAX_DAYS:
        raise BadPeriod(f"choose a period of at most {MAX_DAYS} days")
    period = Period(since, until, language=form["lang"] or None, demo=form["data"] == "demo")
    return period, form


PRESETS = ((7, "Last 7 days"), (30, "Last 30 days"), (90, "Last 90 days"), (365, "Last year"))
SECTIONS = (
    ("recovered", "Amount recovered over time", recovered_over_time),
    ("outcomes", "Containment and handoff per language", outcomes_by_language),
    ("funnel", "From declined to paid", funnel),
    ("handoffs", "Handoffs", handoffs),
    ("not-understood", "Messages not understood", not_understood),
)


def presets(today: dt.date) -> list[tuple[str, str, str]]:
    """(since, until, label) of the quick choices, each ending today."""
    return [
        ((today - dt.timedelta(days=days - 1)).isoformat(), today.isoformat(), label)
        for days, label in PRESETS
    ]


def render(
    insights: dict[str, Any] | None,
    *,
    locale: Locale,
    form: dict[str, str],
    today: dt.date,
    error: str | None = None,
) -> Markup:
    """The page's main content (the console page around it is bot.web.insights_page's)."""
    numbers = Numbers(locale)
    context: dict[str, Any] = {
        "form": form,
        "presets": presets(today),
        "language_names": LANGUAGE_NAMES,
        "error": error,
        "scope": None,
        "summary": [],
        "shown_sections": [],
    }
    if insights is not None:
        period = insights["period"]
        since, until = (dt.date.fromisoformat(period[k]) for k in ("since", "until"))
        context["scope"] = {
            "since": numbers.day(since),
            "until": numbers.day(until),
            "languages": (
                LANGUAGE_NAMES[period["language"]] if period["language"] else "all languages"
            ),
            "data": "demo history" if period["data"] == "demo" else "real activity",
            "demo": period["data"] == "demo",
        }
        context["summary"] = summary(insights, numbers)
        context["shown_sections"] = [
            {
                "anchor": anchor,
                "heading": heading,
                "macro": section.__name__,
                "view": section(insights, numbers),
            }
            for anchor, heading, section in SECTIONS
        ]
    return render_template("insights/content.html", **context)
