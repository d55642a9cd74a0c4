"""The insights page's sections: each a chart with its text alternative and tables.

Each section function turns the insights into what its macro in
bot/web/templates/insights/sections.html shows: charts (SVG from bot.insights.charts)
and `Table`s of plain text, which the template escapes. Texts are English (the
agents' language); numbers, money and dates are written as the reader's locale
writes them (`Numbers`).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal, format_percent

from bot.billing.accounts import to_decimal
from bot.insights.charts import Bar, Segment, bar_chart, line_chart
from bot.insights.report import HANDOFF_REASON_NAMES, LANGUAGE_NAMES, PATH_NAMES

OUTCOME_NAMES = {
    "contained": "Settled by the bot alone",
    "after_handoff": "Settled after a handoff",
    "not_settled": "Not settled",
}


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


@dataclass(frozen=True)
class Table:
    """A table of the page: the first `numeric_from` columns are row headings."""

    caption: str
    head: list[str]
    rows: list[Any]
    numeric_from: int = 1


def _bucket(days: int) -> str:
    return "day" if days <= 62 else ("week" if days <= 400 else "month")


def _bucket_start(day: dt.date, bucket: str) -> dt.date:
    if bucket == "week":
        return day - dt.timedelta(days=day.weekday())
    if bucket == "month":
        return day.replace(day=1)
    return day


def recovered_over_time(insights: dict[str, Any], numbers: Numbers) -> dict[str, Any]:
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
        return {"charts": [], "table": None}
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
        chart = line_chart(
            f"Amount recovered in {currency} per {bucket}",
            description,
            points,
            functools.partial(_money_in, numbers, currency),
        )
        charts.append({"caption": f"{currency} per {bucket}", "svg": chart})
    rows = [
        [numbers.day(start)]
        + [numbers.money(to_decimal(totals[c][start], c), c) for c in currencies]
        for start in starts
        if any(totals[c][start] for c in currencies)
    ]
    table = Table(
        f"Amount recovered per {bucket} (periods with payments)",
        [f"{bucket.capitalize()} from", *currencies],
        rows,
    )
    return {"charts": charts, "table": table}


def _money_in(numbers: Numbers, currency: str, value: float) -> str:
    return numbers.money(value, currency)


def outcomes_by_language(insights: dict[str, Any], numbers: Numbers) -> dict[str, Any]:
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
            LANGUAGE_NAMES[lang],
            numbers.count(v["conversations"]),
            numbers.count(v["contained"]),
            numbers.count(v["after_handoff"]),
            numbers.count(v["not_settled"]),
            numbers.rate(v["containment_rate"]),
            numbers.minutes(v["median_minutes_to_payment"]),
            ", ".join(numbers.money(Decimal(r["amount"]), r["currency"]) for r in v["recovered"])
            or "–",
        ]
        for lang, v in views.items()
    ]
    table = Table(
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
    return {"chart": chart, "table": table}


def funnel(insights: dict[str, Any], numbers: Numbers) -> dict[str, Any]:
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
    path_table = Table(
        "Which way the balances were settled",
        ["Path", "Balances"],
        [[PATH_NAMES[p].capitalize(), numbers.count(n)] for p, n in paths.items()],
    )
    decline_table = Table(
        "Decline reasons seen, and whether the balance was then paid",
        ["Reason", "Seen", "Then paid", "Retry success"],
        [
            [
                d["reason"].replace("_", " "),
                numbers.count(d["seen"]),
                numbers.count(d["then_paid"]),
                numbers.rate(d["retry_success_rate"]),
            ]
            for d in insights["declines"]
        ],
    )
    funnel_table = Table(
        "Declined, option chosen, paid",
        ["Step", "Conversations"],
        [[names[k], numbers.count(v)] for k, v in steps.items()],
    )
    return {"chart": chart, "tables": [funnel_table, path_table, decline_table]}


def handoffs(insights: dict[str, Any], numbers: Numbers) -> dict[str, Any]:
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
    table = Table(
        "Handoffs per reason and language",
        ["Reason", *(LANGUAGE_NAMES[lang] for lang in languages)],
        [
            [HANDOFF_REASON_NAMES.get(r, r).capitalize()]
            + [numbers.count(handoff["by_language"][lang][r]) for lang in languages]
            for r in reasons
        ],
    )
    facts = [
        ("Median wait until claimed", numbers.minutes(handoff["median_minutes_to_claim"])),
        ("Median time to close", numbers.minutes(handoff["median_minutes_to_close"])),
        ("Still open", numbers.count(handoff["still_open"])),
    ]
    return {"chart": chart, "facts": facts, "table": table}


def not_understood(insights: dict[str, Any], numbers: Numbers) -> dict[str, Any]:
    """The top texts' rows are dicts: their template quotes the text and links the inbox."""
    nlu = insights["not_understood"]
    per_language = Table(
        "Messages not understood per language",
        ["Language", "All", "Fallback", "Low confidence"],
        [
            [
                LANGUAGE_NAMES[lang],
                numbers.count(v["total"]),
                numbers.count(v["fallback"]),
                numbers.count(v["low_confidence"]),
            ]
            for lang, v in nlu["by_language"].items()
        ],
    )
    top = Table(
        "Most frequent messages not understood",
        ["Message", "Language", "Times", "Review"],
        [
            {
                "text": t["text"],
                "language": LANGUAGE_NAMES[t["language"]],
                "count": numbers.count(t["count"]),
                "inbox_url": t["inbox_url"],
            }
            for t in nlu["top_texts"]
        ],
    )
    return {"per_language": per_language, "top": top}


def summary(insights: dict[str, Any], numbers: Numbers) -> list[tuple[str, str]]:
    totals = insights["totals"]
    money = ", ".join(
        numbers.money(Decimal(r["amount"]), r["currency"]) for r in totals["recovered"]
    )
    return [
        ("Billing conversations", numbers.count(totals["conversations"])),
        ("Settled by the bot alone", numbers.rate(totals["containment_rate"])),
        ("Balances settled", numbers.count(totals["settled"])),
        ("Recovered", money or "–"),
        ("Median time to payment", numbers.minutes(totals["median_minutes_to_payment"])),
        ("Handoffs", numbers.count(insights["handoffs"]["total"])),
        ("Not understood", numbers.count(insights["not_understood"]["total"])),
    ]
