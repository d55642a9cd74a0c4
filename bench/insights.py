"""How fast the insights page is on a year of data: SQLite and PostgreSQL.

For each database: seeds a demo history of N conversations (`bot demo seed
--history N`, timed), then renders the insights page the way its handler does
(the metrics from the database, then the HTML with its SVG charts) for a year,
for 30 days and for one language over a year: the first render in a new process
(new connections, unwarmed caches) and the median of repeated renders.

    .venv/bin/python bench/insights.py                     # writes docs/benchmarks.md
    .venv/bin/python bench/insights.py --conversations 20000 --no-write

PostgreSQL: a database `bench_insights` on TEST_POSTGRES_URL's server, dropped after.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy.engine import make_url  # noqa: E402

from bot.ops.benchmarks import write_section  # noqa: E402

POSTGRES = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")
REPEATS = 7
VIEWS = (("a year", 365, None), ("30 days", 30, None), ("a year, Latvian only", 365, "lv"))


def render_once(url: str, days: int, language: str | None) -> tuple[float, int]:
    """Seconds for one page render as the handler does it, and the page's size."""
    from babel import Locale

    from bot.db import get_engine
    from bot.insights.metrics import Period, compute
    from bot.insights.page import render

    today = dt.datetime.now(dt.timezone.utc).date()
    started = time.perf_counter()
    period = Period(today - dt.timedelta(days=days - 1), today, language=language, demo=True)
    insights = compute(get_engine(url), period, "en_US")
    form = {
        "since": period.since.isoformat(),
        "until": period.until.isoformat(),
        "lang": language or "",
        "data": "demo",
    }
    html = render(insights, locale=Locale.parse("en_US"), form=form, today=today)
    return time.perf_counter() - started, len(html)


def first_render(url: str, days: int, language: str | None) -> float:
    """The first render in a fresh process: connections and caches start cold."""
    code = (
        f"import sys; sys.path.insert(0, {str(ROOT)!r}); from bench.insights import render_once; "
        f"print(render_once({url!r}, {days}, {language!r})[0])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    return float(result.stdout.strip().splitlines()[-1])


def measure(name: str, url: str, conversations: int) -> list[str]:
    from bot.db import create_schema, get_engine
    from bot.insights.history import seed_history

    engine = get_engine(url)
    create_schema(engine)
    started = time.perf_counter()
    seed_history(engine, conversations)
    seeded = time.perf_counter() - started
    print(f"{name}: seeded {conversations:,} conversations in {seeded:.1f} s", flush=True)
    rows = []
    for label, days, language in VIEWS:
        cold = first_render(url, days, language)
        render_once(url, days, language)
        warm = [render_once(url, days, language)[0] for _ in range(REPEATS)]
        size = render_once(url, days, language)[1]
        print(
            f"  {label}: first {cold * 1000:.0f} ms, median {statistics.median(warm) * 1000:.0f} "
            f"ms (max {max(warm) * 1000:.0f}), {size / 1024:.0f} KB",
            flush=True,
        )
        rows.append(
            f"| {name} | {label} | {cold * 1000:.0f} ms | {statistics.median(warm) * 1000:.0f} ms "
            f"| {max(warm) * 1000:.0f} ms | {size / 1024:.0f} KB |"
        )
    engine.dispose()
    return [f"seed:{name}:{seeded:.1f}", *rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()

    from bot.db import drop_database, ensure_database

    results: list[str] = []
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as folder:
        results += measure("SQLite", f"sqlite:///{folder}/bot.db", args.conversations)
    if not args.skip_postgres:
        url = make_url(POSTGRES).set(database="bench_insights").render_as_string(False)
        drop_database(url)
        ensure_database(url)
        try:
            results += measure("PostgreSQL", url, args.conversations)
        finally:
            from bot.db import get_engine

            get_engine.cache_clear()
            drop_database(url)

    load_after = os.getloadavg()[0]
    seeds = [r.split(":") for r in results if r.startswith("seed:")]
    lines = [
        "## Insights page on a year of data",
        "",
        f"`.venv/bin/python bench/insights.py` ({dt.date.today().isoformat()}, "
        f"{os.cpu_count()} cores shared with other work: load average {load_before:.1f} "
        f"before, {load_after:.1f} after; Python {platform.python_version()}): "
        f"`bot demo seed --history {args.conversations}` generates a year of billing "
        "conversations in en/lv/zh, then the page is rendered as its handler does it "
        "(metrics from the database, then the HTML with its SVG charts): the first render "
        f"in a new process, and the median and maximum of {REPEATS} more.",
        "",
        "| database | seeding " + f"{args.conversations:,} conversations |",
        "|---|---|",
        *[f"| {name} | {float(seconds):.1f} s |" for _, name, seconds in seeds],
        "",
        "| database | period | first render | median | max | page |",
        "|---|---|---|---|---|---|",
        *[r for r in results if not r.startswith("seed:")],
        "",
        "Each view reads `billing_conversations` three times, grouped, from one covering "
        "index (`ix_billing_conversation_period`), and the tickets and not-understood "
        "messages from theirs; a conversation's outcome is derived once into its row "
        "(`bot/insights/facts.py`), again only while it is unsettled and under a week old.",
    ]
    print("\n".join(lines))
    if not args.no_write:
        write_section(ROOT / "docs" / "benchmarks.md", "insights", lines)


if __name__ == "__main__":
    main()
