"""`bot nlu report` on a copy of a third of the data, with the project's pipeline."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLWriter
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.cli.main import main
from bot.config import PROJECT_ROOT
from bot.nlu.report import load_examples


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = tmp_path_factory.mktemp("report") / "project"
    copy.mkdir()
    shutil.copy(PROJECT_ROOT / "domain.yml", copy / "domain.yml")
    shutil.copytree(PROJECT_ROOT / "data" / "test", copy / "data" / "test")
    # A third of the training examples and a few epochs: the same code path, quicker.
    for lang in ("en", "lv", "zh"):
        kept: dict[str, int] = {}
        examples = []
        for message in load_examples(PROJECT_ROOT / "data" / "nlu" / lang):
            kept[message.get("intent")] = kept.get(message.get("intent"), 0) + 1
            if kept[message.get("intent")] <= 12:
                examples.append(message)
        (copy / "data" / "nlu" / lang).mkdir(parents=True)
        RasaYAMLWriter().dump(copy / "data" / "nlu" / lang / "all.yml", TrainingData(examples))
    # The project's own NLU pipeline: no TensorFlow, quick on a third of the data.
    shutil.copy(PROJECT_ROOT / "config.yml", copy / "config.yml")
    return copy


def _report(project: Path, *extra: str) -> int:
    return main(["nlu", "report", "--project", str(project), "--folds", "2", *extra])


@dataclass
class FirstReport:
    """The first `bot nlu report` of the project copy: its exit code, output and files."""

    exit_code: int
    printed: str
    files: Path  # a copy of reports/nlu as that run left it


@pytest.fixture(scope="module")
def first_report(project: Path, tmp_path_factory: pytest.TempPathFactory) -> FirstReport:
    """Runs the first report once, for whichever test of this module comes first.

    The tests read its copy, so a later report in the project (the next test's)
    changes nothing they see, in any order.
    """
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exit_code = _report(project, "--min-f1", "0.0")
    files = tmp_path_factory.mktemp("first-report")
    shutil.copytree(project / "reports" / "nlu", files, dirs_exist_ok=True)
    return FirstReport(exit_code, printed.getvalue(), files)


def test_the_report_files_per_language_and_intent(first_report: FirstReport) -> None:
    assert first_report.exit_code == 0
    out = first_report.files
    report = json.loads((out / "report.json").read_text("utf-8"))
    for lang in ("en", "lv", "zh"):
        assert (out / f"confusion_{lang}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        held_out, cv = report["held_out"][lang], report["cross_validation"][lang]
        assert 0.0 <= held_out["macro_f1"] <= 1.0 and 0.0 <= cv["macro_f1"] <= 1.0
        row = held_out["per_intent"]["payment_declined"]
        assert set(row) == {"precision", "recall", "f1", "support"} and row["support"] > 0
        assert report["counts"][lang]["training"] > 150
    page = (out / "report.html").read_text("utf-8")
    assert 'src="confusion_lv.png"' in page and "This is the first report." in page
    printed = first_report.printed
    assert "held-out macro-F1" in printed and "this is the first report" in printed


def test_changes_since_the_previous_report_and_the_threshold(
    project: Path, first_report: FirstReport, capsys
) -> None:
    out = project / "reports" / "nlu"
    previous = json.loads((first_report.files / "report.json").read_text("utf-8"))
    # Pretend the previous report scored Latvian payment_declined lower.
    previous["held_out"]["lv"]["per_intent"]["payment_declined"]["f1"] -= 0.25
    (out / "report.json").write_text(json.dumps(previous), encoding="utf-8")
    worst = min(s["macro_f1"] for s in previous["held_out"].values())
    capsys.readouterr()
    # Models are reused (same config, domain and data), so this run is quick.
    assert _report(project, "--min-f1", str(round(worst + 0.001, 4))) == 6
    captured = capsys.readouterr()
    assert "lv held-out payment_declined: better by 0.250" in captured.out
    assert "held-out macro-F1 under" in captured.err
    page = (out / "report.html").read_text("utf-8")
    assert "lv held-out payment_declined: better by 0.250" in page
    assert (out / "previous.json").exists()


def test_cached_models_are_kept_apart_and_survive_new_wording(tmp_path: Path) -> None:
    from bot.nlu.report import train_model

    cache = tmp_path / "cache"
    cache.mkdir()
    domain = tmp_path / "domain.yml"
    domain.write_text((PROJECT_ROOT / "domain.yml").read_text("utf-8"), "utf-8")
    other = cache / "before-today-0123456789abcdef01234567.tar.gz"
    other.write_bytes(b"another pipeline's model")
    stale = cache / "before-fedcba9876543210fedcba98.tar.gz"
    stale.write_bytes(b"an older model of this name")
    config = tmp_path / "config.yml"
    config.write_text(
        "language: en\npipeline:\n  - name: WhitespaceTokenizer\n"
        "  - name: KeywordIntentClassifier\npolicies: []\n",
        "utf-8",
    )
    examples = load_examples(PROJECT_ROOT / "data" / "nlu" / "en" / "control.yml")
    first = train_model(config, domain, examples, cache, "before")
    assert first.exists() and other.exists() and not stale.exists()
    # A response worded differently changes nothing an NLU model depends on.
    domain.write_text(domain.read_text("utf-8").replace("Goodbye", "Bye now"), "utf-8")
    assert train_model(config, domain, examples, cache, "before") == first
