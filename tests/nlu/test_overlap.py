"""No evaluation text is a training example: a score on seen text means nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import PROJECT_ROOT
from bot.nlu.examples import Example, NluStore, normalize
from bot.nlu.overlap import (
    FINGERPRINTS_FILE,
    evaluation_fingerprints,
    fingerprint,
    public_eval_dir,
    public_eval_examples,
    write_fingerprints,
)
from bot.nlu.report import load_examples
from tests.conftest import copy_project

LANGUAGES = ("en", "lv", "zh")


@pytest.fixture(scope="module")
def training() -> list[tuple[str, str]]:
    return [
        (f"{path.parent.name}/{path.name}", message.get("text"))
        for path in sorted((PROJECT_ROOT / "data" / "nlu").glob("*/*.yml"))
        for message in load_examples(path)
    ]


def test_no_evaluation_text_is_a_training_example(training) -> None:
    prints = evaluation_fingerprints()
    assert len(prints) > 800  # the kept fingerprints are there even without ../shared
    shared = [(where, text) for where, text in training if fingerprint(text) in prints]
    assert shared == []


def test_no_held_out_text_is_a_training_example(training) -> None:
    trained = {normalize(text) for _, text in training}
    for lang in LANGUAGES:
        held = load_examples(PROJECT_ROOT / "data" / "test" / f"nlu_{lang}.yml")
        assert len(held) >= 40
        assert [m.get("text") for m in held if normalize(m.get("text")) in trained] == []


def test_the_kept_fingerprints_cover_every_public_evaluation_set() -> None:
    if not public_eval_dir().exists():
        pytest.skip(f"no public evaluation sets at {public_eval_dir()} (they live in ../shared)")
    kept = {
        line.strip()
        for line in FINGERPRINTS_FILE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    live = {fingerprint(text) for _, _, text in public_eval_examples()}
    assert live and live <= kept, "run: python -m bot.nlu.overlap"


def test_fingerprints_are_written_from_the_sets_and_match_normalized_text(
    tmp_path: Path,
) -> None:
    sets = tmp_path / "eval"
    sets.mkdir()
    (sets / "demo_en.tsv").write_text(
        "# source: a comment line\ngreet\tHello there!\nout_of_scope\tWhat's the time?\n",
        encoding="utf-8",
    )
    out = tmp_path / "prints.txt"
    assert write_fingerprints(sets, out) == 2
    kept = out.read_text(encoding="utf-8")
    assert fingerprint("hello THERE") in kept and fingerprint("WHAT S the time!") in kept
    assert "Hello" not in kept


def test_a_trainer_cannot_add_a_public_evaluation_text(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    evaluated = "Could you tell me how long a parcel takes to reach Tallinn?"
    kept = project / "data" / "evaluation_fingerprints.txt"
    kept.write_text(kept.read_text("utf-8") + fingerprint(evaluated) + "\n", "utf-8")
    store = NluStore(project)
    refusal = store.check(Example("out_of_scope", "en", evaluated.upper().replace("?", "!!")))
    assert refusal is not None and getattr(refusal, "code", None) == "held_out"
    assert (
        store.check(Example("out_of_scope", "en", "how long does a parcel take to Tartu")) is None
    )
