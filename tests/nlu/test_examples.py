"""`bot nlu add`, on a copy of the project's data in a temporary folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli.main import main


@pytest.fixture
def project(project_copy: Path) -> Path:
    copy = project_copy
    billing = copy / "data" / "nlu" / "lv" / "billing.yml"
    billing.write_text(
        billing.read_text("utf-8").replace("nlu:\n", "nlu:\n# Trainers: keep this comment.\n", 1),
        encoding="utf-8",
    )
    return copy


def _add(project: Path, capsys, *args: str) -> tuple[int, dict]:
    code = main(["nlu", "add", "--project", str(project), "--json", *args])
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip() else {}


def _snapshot(project: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted((project / "data").rglob("*.yml"))}


def test_an_example_lands_in_its_intents_block_keeping_the_layout(project: Path, capsys) -> None:
    before = (project / "data" / "nlu" / "lv" / "billing.yml").read_text("utf-8")
    code, outcome = _add(
        project,
        capsys,
        "--intent",
        "payment_declined",
        "--lang",
        "lv",
        "Vakar banka atkal noraidīja manu abonementa maksājumu",
    )
    assert code == 0, outcome
    assert outcome["added"] == [
        {
            "intent": "payment_declined",
            "lang": "lv",
            "file": "data/nlu/lv/billing.yml",
            "text": "Vakar banka atkal noraidīja manu abonementa maksājumu",
        }
    ]
    after = (project / "data" / "nlu" / "lv" / "billing.yml").read_text("utf-8")
    assert "# Trainers: keep this comment." in after
    # Only the new line is new, right at the end of payment_declined's examples.
    added = [line for line in after.splitlines() if line not in before.splitlines()]
    assert added == ["    - Vakar banka atkal noraidīja manu abonementa maksājumu"]
    block = after.split("- intent: payment_declined", 1)[1].split("- intent:", 1)[0]
    assert block.rstrip().endswith("- Vakar banka atkal noraidīja manu abonementa maksājumu")


@pytest.mark.parametrize(
    ("intent", "lang", "text", "code", "says"),
    [
        (
            "payment_declined",
            "lv",
            "Mans kartes maksājums tika noraidīts",
            "duplicate",
            "already an example of payment_declined",
        ),
        (
            "payment_declined",
            "lv",
            "  MANS kartes maksajums, tika noraidits!!",
            "duplicate",
            "already an example of payment_declined",
        ),
        (
            "greet",
            "lv",
            "mans kartes maksājums tika noraidīts",
            "conflict",
            "another intent: payment_declined (data/nlu/lv/billing.yml)",
        ),
        (
            "payment_declined",
            "lv",
            "mans maksājums ar karti tika noraidīts",
            "held_out",
            "held-out test set",
        ),
        ("pay_now", "en", "pay it now", "unknown_intent", "no intent 'pay_now'"),
        ("choose_card", "en", "the second card", "payload_only", "only arrives as a payload"),
        (
            "payment_declined",
            "en",
            "my card 4242 4242 4242 4242 failed",
            "card_number",
            "card number",
        ),
        ("payment_declined", "fr", "ma carte a été refusée", "unknown_language", "en, lv or zh"),
        ("payment_declined", "en", "card [4242(card_last4) failed", "bad_entity", "entities"),
    ],
)
def test_bad_examples_are_refused_with_a_reason(
    project: Path, capsys, intent: str, lang: str, text: str, code: str, says: str
) -> None:
    before = _snapshot(project)
    exit_code, outcome = _add(project, capsys, "--intent", intent, "--lang", lang, text)
    assert exit_code == 4 and outcome["added"] == []
    (refusal,) = outcome["refused"]
    assert refusal["code"] == code and says in refusal["message"]
    assert _snapshot(project) == before


def test_a_text_in_another_language_is_added_with_a_warning(project: Path, capsys) -> None:
    code, outcome = _add(
        project,
        capsys,
        "--intent",
        "card_expired",
        "--lang",
        "en",
        "Manai kartei beidzās derīguma termiņš pagājušajā mēnesī",
    )
    assert code == 0 and len(outcome["added"]) == 1
    assert "looks like lv, not en" in outcome["warnings"][0]


def test_csv_import_adds_the_good_rows_and_reports_the_bad(project: Path, capsys) -> None:
    csv_file = project / "examples.csv"
    csv_file.write_text(
        "intent,lang,text\n"
        "still_past_due,zh,我昨天已经交过钱了，为什么账户还是显示欠费？\n"
        'request_human,lv,"Savienojiet mani ar dzīvu cilvēku, lūdzu"\n'
        "no_such_intent,en,hello there\n"
        "request_human,lv,savienojiet mani ar dzivu cilveku ludzu\n"
        'greet,en,"Good evening, billing team"\n',
        encoding="utf-8",
    )
    code, outcome = _add(project, capsys, "--file", str(csv_file))
    assert code == 4
    assert [a["text"] for a in outcome["added"]] == [
        "我昨天已经交过钱了，为什么账户还是显示欠费？",
        "Savienojiet mani ar dzīvu cilvēku, lūdzu",
        "Good evening, billing team",
    ]
    assert [(r["row"], r["code"]) for r in outcome["refused"]] == [
        (3, "unknown_intent"),
        (4, "duplicate"),
    ]
    support = (project / "data" / "nlu" / "lv" / "support.yml").read_text("utf-8")
    assert support.count("Savienojiet mani ar dzīvu cilvēku, lūdzu") == 1


def test_a_csv_without_the_columns_is_refused(project: Path, capsys) -> None:
    csv_file = project / "bad.csv"
    csv_file.write_text("intent;language;example\ngreet;en;hi\n", encoding="utf-8")
    assert main(["nlu", "add", "--project", str(project), "--file", str(csv_file)]) == 1
    assert (
        "lacks the column(s) intent, lang, text: it needs a header row" in capsys.readouterr().err
    )


def test_a_csv_text_cut_by_an_unquoted_comma_is_refused_whole(project: Path, capsys) -> None:
    csv_file = project / "commas.csv"
    csv_file.write_text(
        "intent,lang,text\n"
        "greet,en,good morning\n"
        "settle_balance,lv,saņēmu e-pastu, ka man ir nokavēts maksājums\n",
        encoding="utf-8",
    )
    before = _snapshot(project)
    assert main(["nlu", "add", "--project", str(project), "--file", str(csv_file)]) == 1
    err = capsys.readouterr().err
    assert "row(s) 2 have more columns than the header" in err and "double quotes" in err
    assert _snapshot(project) == before


def test_when_rasa_validation_fails_nothing_is_written(project: Path, capsys) -> None:
    # A story with an action the domain does not have makes `rasa data validate` fail.
    (project / "data" / "stories" / "broken.yml").write_text(
        'version: "3.1"\nstories:\n- story: broken\n  steps:\n  - intent: greet\n'
        "  - action: action_no_such_thing\n",
        encoding="utf-8",
    )
    before = _snapshot(project)
    code = main(
        [
            "nlu",
            "add",
            "--project",
            str(project),
            "--intent",
            "greet",
            "--lang",
            "en",
            "Good morning, billing assistant",
        ]
    )
    assert code == 5
    err = capsys.readouterr().err
    assert "nothing was written" in err and "action_no_such_thing" in err
    assert _snapshot(project) == before


def test_a_text_in_none_of_the_three_languages_is_named_in_the_warning(
    project: Path, capsys
) -> None:
    code, outcome = _add(
        project,
        capsys,
        "--intent",
        "card_expired",
        "--lang",
        "lv",
        "Срок действия моей карты истёк вчера",
    )
    assert code == 0 and "looks like Russian, not lv" in outcome["warnings"][0]
