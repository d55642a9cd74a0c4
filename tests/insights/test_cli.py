"""`bot insights`: the text, JSON and CSV outputs on a known history, and bad input."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy.engine import Engine

from bot.cli.main import main
from bot.db import session_scope
from tests.insights.history import build_known_history

PERIOD = ["--since", "2026-11-01", "--until", "2026-11-03"]


@pytest.fixture
def history(app_db: Engine) -> Engine:
    with session_scope(app_db) as session:
        build_known_history(session)
    return app_db


def test_json_has_the_documented_keys_and_the_known_answers(
    history: Engine, capsys: pytest.CaptureFixture
) -> None:
    assert main(["insights", *PERIOD, "--json"]) == 0
    insights = json.loads(capsys.readouterr().out)
    assert set(insights) == {
        "period",
        "languages",
        "totals",
        "by_language",
        "by_day",
        "declines",
        "handoffs",
        "not_understood",
    }
    assert insights["period"] == {
        "since": "2026-11-01",
        "until": "2026-11-03",
        "language": None,
        "data": "real",
        "days": "UTC",
    }
    totals = insights["totals"]
    assert (totals["contained"], totals["after_handoff"], totals["not_settled"]) == (3, 1, 1)
    assert {r["currency"]: r["formatted"] for r in totals["recovered"]}["CNY"] == "CN¥1,080.00"


def test_csv_is_one_row_per_day_and_language(history: Engine, capsys) -> None:
    assert main(["insights", *PERIOD, "--csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 9
    assert list(rows[0]) == [
        "day",
        "language",
        "conversations",
        "contained",
        "after_handoff",
        "not_settled",
        "settled",
        "handoffs",
        "not_understood",
        "recovered_CNY",
        "recovered_EUR",
        "recovered_GBP",
        "recovered_USD",
    ]
    first_english = next(r for r in rows if (r["day"], r["language"]) == ("2026-11-01", "en"))
    assert first_english["contained"] == "1" and first_english["recovered_USD"] == "6.00"
    assert first_english["recovered_EUR"] == "0"
    zh = next(r for r in rows if (r["day"], r["language"]) == ("2026-11-01", "zh"))
    assert (zh["after_handoff"], zh["handoffs"], zh["recovered_CNY"]) == ("1", "1", "1080.00")


def test_text_summary_for_one_language(history: Engine, capsys) -> None:
    assert main(["insights", *PERIOD, "--lang", "lv"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Insights 2026-11-01 to 2026-11-03 (UTC days), Latvian, real activity")
    assert "€25.50" in out and "$6.00" not in out
    assert "kas ar to?" in out and "账户" not in out
    lines = out.splitlines()
    assert next(line for line in lines if "settled by the bot alone" in line).split()[-1] == "1"


def test_demo_history_is_asked_for_separately(history: Engine, capsys) -> None:
    assert main(["insights", *PERIOD, "--demo", "--json"]) == 0
    insights = json.loads(capsys.readouterr().out)
    assert insights["period"]["data"] == "demo" and insights["totals"]["conversations"] == 1


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--since", "2026-13-01"], "argument --since: not a date: '2026-13-01'"),
        (["--until", "yesterday"], "write it as YYYY-MM-DD"),
        (["--lang", "de"], "invalid choice: 'de'"),
        (["--json", "--csv"], "not allowed with argument"),
    ],
)
def test_bad_arguments_are_usage_errors(arguments, message, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["insights", *arguments])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_a_period_that_ends_before_it_starts(app_db: Engine, capsys) -> None:
    assert main(["insights", "--since", "2026-11-05", "--until", "2026-11-01"]) == 1
    assert "starts (2026-11-05) after it ends (2026-11-01)" in capsys.readouterr().err
