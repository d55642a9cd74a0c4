"""The insights as `bot insights` prints them: a text summary, JSON or CSV."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

LANGUAGE_NAMES = {"en": "English", "lv": "Latvian", "zh": "Chinese"}
PATH_NAMES = {
    "new_expiry": "new expiry date",
    "other_card": "another card",
    "new_card": "new card (card form)",
}
HANDOFF_REASON_NAMES = {
    "customer_asked": "asked for a person",
    "not_understood": "not understood twice",
    "payments_declined": "declined twice",
}
CSV_COLUMNS = (
    "day",
    "language",
    "conversations",
    "contained",
    "after_handoff",
    "not_settled",
    "settled",
    "handoffs",
    "not_understood",
)


def as_json(insights: dict[str, Any]) -> str:
    return json.dumps(insights, ensure_ascii=False, indent=2)


def as_csv(insights: dict[str, Any]) -> str:
    """One row per day and language; money recovered in one column per currency."""
    currencies = sorted({r["currency"] for r in insights["totals"]["recovered"]})
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*CSV_COLUMNS, *(f"recovered_{c}" for c in currencies)])
    for row in insights["by_day"]:
        recovered = {r["currency"]: r["amount"] for r in row["recovered"]}
        writer.writerow(
            [*(row[c] for c in CSV_COLUMNS), *(recovered.get(c, "0") for c in currencies)]
        )
    return out.getvalue()


def _percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.0f}%"


def _number(value: float | None, unit: str = "") -> str:
    return "-" if value is None else f"{value:g}{unit}"


def _money(view: dict[str, Any]) -> str:
    return ", ".join(r["formatted"] for r in view["recovered"]) or "nothing"


def as_text(insights: dict[str, Any]) -> str:
    """A summary to read in a terminal."""
    period = insights["period"]
    languages = insights["languages"]
    columns = ["all", *languages] if len(languages) > 1 else languages
    views = {"all": insights["totals"], **insights["by_language"]}
    scope = LANGUAGE_NAMES[period["language"]] if period["language"] else "all languages"
    data = "demo history (bot demo seed --history)" if period["data"] == "demo" else "real activity"
    lines = [
        f"Insights {period['since']} to {period['until']} (UTC days), {scope}, {data}",
        "",
        f"{'Billing conversations':<28}" + "".join(f"{c:>10}" for c in columns),
    ]
    rows = [
        ("conversations", lambda v: str(v["conversations"])),
        ("settled by the bot alone", lambda v: str(v["contained"])),
        ("settled after a handoff", lambda v: str(v["after_handoff"])),
        ("not settled", lambda v: str(v["not_settled"])),
        ("contained", lambda v: _percent(v["containment_rate"])),
        ("median minutes to payment", lambda v: _number(v["median_minutes_to_payment"])),
        ("handoffs", lambda v: str(v["handoffs"])),
        ("messages not understood", lambda v: str(v["not_understood"])),
    ]
    for label, cell in rows:
        lines.append(f"  {label:<26}" + "".join(f"{cell(views[c]):>10}" for c in columns))
    lines += ["", "Recovered"]
    lines += [f"  {c:<26}{_money(views[c])}" for c in columns]
    totals = insights["totals"]
    lines += ["", "Settled with"]
    lines += [f"  {PATH_NAMES[p]:<26}{n:>10}" for p, n in totals["settling_paths"].items()]
    funnel = totals["funnel"]
    lines += [
        "",
        "Declined -> option chosen -> paid: "
        f"{funnel['declined']} -> {funnel['option_chosen']} -> {funnel['paid']}",
        "",
        f"{'Decline reasons':<28}{'seen':>10}{'then paid':>10}{'rate':>10}",
    ]
    lines += [
        f"  {d['reason']:<26}{d['seen']:>10}{d['then_paid']:>10}"
        f"{_percent(d['retry_success_rate']):>10}"
        for d in insights["declines"]
    ] or ["  none"]
    handoffs = insights["handoffs"]
    lines += ["", f"Handoffs: {handoffs['total']} ({handoffs['still_open']} still open)"]
    lines += [
        f"  {HANDOFF_REASON_NAMES.get(r, r):<26}{n:>10}" for r, n in handoffs["by_reason"].items()
    ]
    lines += [
        f"  {'median minutes to claim':<26}{_number(handoffs['median_minutes_to_claim']):>10}",
        f"  {'median minutes to close':<26}{_number(handoffs['median_minutes_to_close']):>10}",
    ]
    nlu = insights["not_understood"]
    lines += ["", f"Not understood: {nlu['total']}"]
    lines += [
        f"  {LANGUAGE_NAMES[lang]:<26}{v['total']:>10} ({v['fallback']} fallback, "
        f"{v['low_confidence']} low confidence)"
        for lang, v in nlu["by_language"].items()
    ]
    if nlu["top_texts"]:
        lines += ["  most frequent (review them with `bot inbox list --lang L`):"]
        lines += [f"  {t['count']:>6}  {t['language']}  {t['text']}" for t in nlu["top_texts"]]
    return "\n".join(lines) + "\n"
