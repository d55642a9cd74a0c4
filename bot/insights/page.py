"""The console's insights page as HTML: filters, summary, SVG charts and their tables.

Texts are English (the agents' language); numbers, money and dates are written
as the reader's locale writes them. The page shows counts, sums and the texts of
messages not understood (masked before they were stored), nothing else about a
customer: no names, conversation ids, card data or tokens.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from decimal import Decimal
from html import escape
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal, format_percent

from bot.billing import to_decimal
from bot.insights.charts import Bar, Segment, bar_chart, line_chart
from bot.insights.metrics import BadPeriod, Period
from bot.insights.report import HANDOFF_REASON_NAMES, LANGUAGE_NAMES, PATH_NAMES

OUTCOME_NAMES = {
    "contained": "Settled by the bot alone",
    "after_handoff": "Settled after a handoff",
    "not_settled": "Not settled",
}
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


class Numbers:
    """Numbers, money and dates as the reader's locale writes them."""

    def __init__(self, locale: Locale) -> None:
        self.locale = locale

    def count(self, value: float) -> str:
        return format_decimal(value, locale=self.locale)

    def rate(self, value: float | None) -> str:
        return "–" if value is None else format_percent(value, "#,##0%", locale=self.locale)

    def minutes(self, value: float | None) -> str:
        if value is None:
            return "–"
        return format_decimal(value, "#,##0.0", locale=self.locale) + " min"

    def money(self, amount: Decimal | float, currency: str) -> str:
        return format_currency(amount, currency, locale=self.locale)

    def day(self, day: dt.date) -> str:
        return format_date(day, "medium", locale=self.locale)


def _table(caption: str, head: list[str], rows: list[list[str]], numeric_from: int = 1) -> str:
    cells = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{c}</td>' if i >= numeric_from else f'<th scope="row">{c}</th>'
            for i, c in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    header = "".join(
        f'<th scope="col" class="{"num" if i >= numeric_from else ""}">{escape(h)}</th>'
        for i, h in enumerate(head)
    )
    empty = (
        f'<tr><td colspan="{len(head)}" class="empty">Nothing in this period.</td></tr>'
        if not rows
        else ""
    )
    return (
        f'<table class="insights-table"><caption>{escape(caption)}</caption>'
        f"<thead><tr>{header}</tr></thead><tbody>{cells}{empty}</tbody></table>"
    )


def _bucket(days: int) -> str:
    return "day" if days <= 62 else ("week" if days <= 400 else "month")


def _bucket_start(day: dt.date, bucket: str) -> dt.date:
    if bucket == "week":
        return day - dt.timedelta(days=day.weekday())
    if bucket == "month":
        return day.replace(day=1)
    return day


def recovered_over_time(insights: dict[str, Any], numbers: Numbers) -> str:
    """One line chart per currency (their scales differ), and the table of all."""
    days = [dt.date.fromisoformat(d["day"]) for d in insights["by_day"]]
    bucket = _bucket((max(days) - min(days)).days + 1) if days else "day"
    totals: dict[str, dict[dt.date, int]] = defaultdict(lambda: defaultdict(int))
    starts: dict[dt.date, None] = {}  # the buckets, in order
    for row in insights["by_day"]:
        start = _bucket_start(dt.date.fromisoformat(row["day"]), bucket)
        starts[start] = None
        for money in row["recovered"]:
            totals[money["currency"]][start] += money["amount_minor"]
    currencies = sorted(totals)
    if not currencies:
        return '<p class="empty">No payments in this period.</p>'
    first, last = next(iter(starts)), list(starts)[-1]
    charts = []
    for currency in currencies:
        per_bucket = totals[currency]
        points = [(numbers.day(s), float(to_decimal(per_bucket[s], currency))) for s in starts]
        best = max(starts, key=lambda s: per_bucket[s])
        total = to_decimal(sum(per_bucket.values()), currency)
        description = (
            f"Amount recovered in {currency} per {bucket}, from {numbers.day(first)} to "
            f"{numbers.day(last)}: {numbers.money(total, currency)} in all; the best "
            f"{bucket} began {numbers.day(best)} with "
            f"{numbers.money(to_decimal(per_bucket[best], currency), currency)}."
        )
        charts.append(
            f'<figure class="chart-box"><figcaption>{escape(currency)} per {bucket}'
            "</figcaption>"
            + line_chart(
                f"Amount recovered in {currency} per {bucket}",
                description,
                points,
                functools.partial(_money_in, numbers, currency),
            )
            + "</figure>"
        )
    rows = [
        [escape(numbers.day(start))]
        + [escape(numbers.money(to_decimal(totals[c][start], c), c)) for c in currencies]
        for start in starts
        if any(totals[c][start] for c in currencies)
    ]
    table = _table(
        f"Amount recovered per {bucket} (periods with payments)",
        [f"{bucket.capitalize()} from", *currencies],
        rows,
    )
    return '<div class="chart-grid">' + "".join(charts) + "</div>" + _details(table, len(rows))


def _money_in(numbers: Numbers, currency: str, value: float) -> str:
    return numbers.money(value, currency)


def _details(table: str, rows: int) -> str:
    """The chart's numbers; a long table starts folded."""
    opened = " open" if rows <= 16 else ""
    return f'<details class="numbers"{opened}><summary>The numbers</summary>{table}</details>'


def outcomes_by_language(insights: dict[str, Any], numbers: Numbers) -> str:
    views = insights["by_language"]
    bars = [
        Bar(
            LANGUAGE_NAMES[language],
            [
                Segment(key, OUTCOME_NAMES[key], view[key], numbers.count(view[key]))
                for key in OUTCOME_NAMES
            ],
        )
        for language, view in views.items()
    ]
    description = "; ".join(
        f"{LANGUAGE_NAMES[lang]}: {v['conversations']} conversations, "
        f"{v['contained']} settled by the bot alone ({numbers.rate(v['containment_rate'])}), "
        f"{v['after_handoff']} after a handoff, {v['not_settled']} not settled"
        for lang, v in views.items()
    )
    chart = bar_chart(
        "Containment and handoff per language",
        description + ".",
        bars,
        legend=list(OUTCOME_NAMES.items()),
    )
    rows = [
        [
            escape(LANGUAGE_NAMES[lang]),
            numbers.count(v["conversations"]),
            numbers.count(v["contained"]),
            numbers.count(v["after_handoff"]),
            numbers.count(v["not_settled"]),
            numbers.rate(v["containment_rate"]),
            numbers.minutes(v["median_minutes_to_payment"]),
            escape(
                ", ".join(
                    numbers.money(Decimal(r["amount"]), r["currency"]) for r in v["recovered"]
                )
                or "–"
            ),
        ]
        for lang, v in views.items()
    ]
    table = _table(
        "Billing conversations per language",
        [
            "Language",
            "Conversations",
            "By the bot alone",
            "After a handoff",
            "Not settled",
            "Contained",
            "Median time to pay",
            "Recovered",
        ],
        rows,
    )
    return f'<figure class="chart-box wide">{chart}</figure>{table}'


def funnel(insights: dict[str, Any], numbers: Numbers) -> str:
    steps = insights["totals"]["funnel"]
    names = {
        "declined": "Charge declined",
        "option_chosen": "Option chosen",
        "paid": "Paid",
    }
    first = steps["declined"] or 1
    bars = [
        Bar(
            names[key],
            [
                Segment(
                    "bar",
                    names[key],
                    value,
                    f"{numbers.count(value)} · "
                    f"{numbers.rate(value / first if steps['declined'] else None)}",
                )
            ],
        )
        for key, value in steps.items()
    ]
    description = (
        f"Of {steps['declined']} conversations about a declined charge, "
        f"{steps['option_chosen']} chose a way to fix it and {steps['paid']} paid."
    )
    chart = bar_chart("From declined to paid", description, bars, scale_to=first)
    paths = insights["totals"]["settling_paths"]
    path_table = _table(
        "Which way the balances were settled",
        ["Path", "Balances"],
        [[escape(PATH_NAMES[p].capitalize()), numbers.count(n)] for p, n in paths.items()],
    )
    decline_table = _table(
        "Decline reasons seen, and whether the balance was then paid",
        ["Reason", "Seen", "Then paid", "Retry success"],
        [
            [
                escape(d["reason"].replace("_", " ")),
                numbers.count(d["seen"]),
                numbers.count(d["then_paid"]),
                numbers.rate(d["retry_success_rate"]),
            ]
            for d in insights["declines"]
        ],
    )
    funnel_table = _table(
        "Declined, option chosen, paid",
        ["Step", "Conversations"],
        [[escape(names[k]), numbers.count(v)] for k, v in steps.items()],
    )
    return (
        f'<figure class="chart-box wide">{chart}</figure>'
        f'<div class="table-row">{funnel_table}{path_table}{decline_table}</div>'
    )


def handoffs(insights: dict[str, Any], numbers: Numbers) -> str:
    handoff = insights["handoffs"]
    reasons = handoff["by_reason"]
    bars = [
        Bar(
            HANDOFF_REASON_NAMES.get(reason, reason).capitalize(),
            [Segment("bar", reason, count, numbers.count(count))],
        )
        for reason, count in reasons.items()
    ]
    description = (
        f"{handoff['total']} handoffs: "
        + ", ".join(f"{n} {HANDOFF_REASON_NAMES.get(r, r)}" for r, n in reasons.items())
        + f". Median wait until an agent claimed: "
        f"{numbers.minutes(handoff['median_minutes_to_claim'])}; median time to close: "
        f"{numbers.minutes(handoff['median_minutes_to_close'])}."
    )
    chart = bar_chart("Handoff reasons", description, bars)
    languages = list(handoff["by_language"])
    table = _table(
        "Handoffs per reason and language",
        ["Reason", *(LANGUAGE_NAMES[lang] for lang in languages)],
        [
            [escape(HANDOFF_REASON_NAMES.get(r, r).capitalize())]
            + [numbers.count(handoff["by_language"][lang][r]) for lang in languages]
            for r in reasons
        ],
    )
    facts = (
        '<dl class="facts">'
        f"<div><dt>Median wait until claimed</dt>"
        f"<dd>{numbers.minutes(handoff['median_minutes_to_claim'])}</dd></div>"
        f"<div><dt>Median time to close</dt>"
        f"<dd>{numbers.minutes(handoff['median_minutes_to_close'])}</dd></div>"
        f"<div><dt>Still open</dt><dd>{numbers.count(handoff['still_open'])}</dd></div>"
        "</dl>"
    )
    return f'<figure class="chart-box wide">{chart}</figure>{facts}{table}'


def not_understood(insights: dict[str, Any], numbers: Numbers) -> str:
    nlu = insights["not_understood"]
    per_language = _table(
        "Messages not understood per language",
        ["Language", "All", "Fallback", "Low confidence"],
        [
            [
                escape(LANGUAGE_NAMES[lang]),
                numbers.count(v["total"]),
                numbers.count(v["fallback"]),
                numbers.count(v["low_confidence"]),
            ]
            for lang, v in nlu["by_language"].items()
        ],
    )
    top = _table(
        "Most frequent messages not understood",
        ["Message", "Language", "Times", "Review"],
        [
            [
                f'<span class="quote">{escape(t["text"])}</span>',
                escape(LANGUAGE_NAMES[t["language"]]),
                numbers.count(t["count"]),
                f'<a href="{escape(t["inbox_url"])}">NLU inbox</a>',
            ]
            for t in nlu["top_texts"]
        ],
    )
    return f'<div class="table-row">{per_language}{top}</div>'


def summary(insights: dict[str, Any], numbers: Numbers) -> str:
    totals = insights["totals"]
    money = ", ".join(
        numbers.money(Decimal(r["amount"]), r["currency"]) for r in totals["recovered"]
    )
    cards = [
        ("Billing conversations", numbers.count(totals["conversations"])),
        ("Settled by the bot alone", numbers.rate(totals["containment_rate"])),
        ("Balances settled", numbers.count(totals["settled"])),
        ("Recovered", money or "–"),
        ("Median time to payment", numbers.minutes(totals["median_minutes_to_payment"])),
        ("Handoffs", numbers.count(insights["handoffs"]["total"])),
        ("Not understood", numbers.count(insights["not_understood"]["total"])),
    ]
    return (
        '<dl class="summary">'
        + "".join(
            f'<div class="summary-card"><dt>{escape(label)}</dt><dd>{escape(value)}</dd></div>'
            for label, value in cards
        )
        + "</dl>"
    )


def filters(form: dict[str, str], today: dt.date) -> str:
    def option(value: str, label: str, chosen: str) -> str:
        selected = " selected" if value == chosen else ""
        return f'<option value="{escape(value)}"{selected}>{escape(label)}</option>'

    languages = option("", "All languages", form["lang"]) + "".join(
        option(code, name, form["lang"]) for code, name in LANGUAGE_NAMES.items()
    )
    data = option("real", "Real activity", form["data"]) + option(
        "demo", "Demo history", form["data"]
    )
    presets = " ".join(
        f'<a class="preset" href="/console/insights?since='
        f"{(today - dt.timedelta(days=days - 1)).isoformat()}&amp;until={today.isoformat()}"
        f'&amp;lang={escape(form["lang"])}&amp;data={escape(form["data"])}">{label}</a>'
        for days, label in PRESETS
    )
    return (
        '<form id="filters" class="insights-filters" method="get" action="/console/insights">'
        f'<label>From <input id="since" type="date" name="since" value="{escape(form["since"])}"'
        " required></label>"
        f'<label>To <input id="until" type="date" name="until" value="{escape(form["until"])}"'
        " required></label>"
        f'<label>Language <select id="lang" name="lang">{languages}</select></label>'
        f'<label>Data <select id="data" name="data">{data}</select></label>'
        '<button id="apply" type="submit" class="btn btn-primary">Show</button>'
        f'<span class="presets">{presets}</span></form>'
    )


def render(
    insights: dict[str, Any] | None,
    *,
    locale: Locale,
    form: dict[str, str],
    today: dt.date,
    error: str | None = None,
) -> str:
    """The page's main content (the console page around it is bot.web.insights_page's)."""
    numbers = Numbers(locale)
    parts = [filters(form, today)]
    if error:
        parts.append(f'<p id="insights-error" class="error" role="alert">{escape(error)}</p>')
    if insights is not None:
        period = insights["period"]
        scope = LANGUAGE_NAMES[period["language"]] if period["language"] else "all languages"
        data = "demo history" if period["data"] == "demo" else "real activity"
        since, until = (dt.date.fromisoformat(period[k]) for k in ("since", "until"))
        parts.append(
            f'<p id="insights-scope" class="scope">{escape(numbers.day(since))} – '
            f"{escape(numbers.day(until))}, {escape(scope)}, {escape(data)}. "
            "Days are UTC days; a conversation counts on the day of its first message.</p>"
        )
        if period["data"] == "demo":
            parts.append(
                '<p class="notice-inline">Generated by <code>bot demo seed --history</code>: '
                "not real customers.</p>"
            )
        parts.append(summary(insights, numbers))
        for anchor, heading, section in (
            ("recovered", "Amount recovered over time", recovered_over_time),
            ("outcomes", "Containment and handoff per language", outcomes_by_language),
            ("funnel", "From declined to paid", funnel),
            ("handoffs", "Handoffs", handoffs),
            ("not-understood", "Messages not understood", not_understood),
        ):
            parts.append(
                f'<section id="{anchor}" class="insights-section" aria-labelledby="{anchor}-h">'
                f'<h2 id="{anchor}-h">{heading}</h2>{section(insights, numbers)}</section>'
            )
    return "".join(parts)
