"""Rasa's own story test, on this project's test stories only (tests/stories).

`rasa test` in the repo root reads test stories from the whole folder, .venv
included (Rasa 3.6's DEFAULT_E2E_TESTS_PATH is "."), and so evaluated the example
story that ships inside Rasa. `make test-stories` and this test name our folder.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader
from rasa.shared.data import get_data_files

from bot.config import PROJECT_ROOT
from tests.e2e.conftest import BIN, MODEL, _train

pytestmark = pytest.mark.e2e
STORIES = PROJECT_ROOT / "tests" / "stories"
# Rasa names each story it read as "<name> (<file>)" in its report of passed stories.
NAME_AND_FILE = re.compile(r"^(?P<name>.*) \((?P<file>/[^()]+)\)$")


def _our_stories() -> dict[str, Path]:
    stories: dict[str, Path] = {}
    for path in sorted(STORIES.glob("test_*.yml")):
        for story in yaml.safe_load(path.read_text("utf-8"))["stories"]:
            assert story["story"] not in stories, f"two stories named {story['story']!r}"
            stories[story["story"]] = path
    return stories


def test_the_story_folder_holds_only_our_test_stories() -> None:
    found = [Path(f) for f in get_data_files([str(STORIES)], YAMLStoryReader.is_test_stories_file)]
    assert sorted(found) == sorted(set(_our_stories().values()))
    assert not any(".venv" in f.parts or "site-packages" in f.parts for f in found)


def test_every_test_story_passes_in_rasa_test(tmp_path: Path) -> None:
    _train()
    ours = _our_stories()
    # Each language, each flow: settle (3 ways), not the owner, handoff, still past due.
    assert {name[-4:] for name in ours} == {"(en)", "(lv)", "(zh)"}
    assert {p.stem for p in ours.values()} == {
        "test_settle",
        "test_not_owner",
        "test_handoff",
        "test_still_past_due",
    }
    result = subprocess.run(
        [
            str(BIN / "rasa"),
            "test",
            "core",
            "--e2e",  # as plain `rasa test`: NLU reads the typed messages
            "--stories",
            str(STORIES),
            "--model",
            str(MODEL),
            "--out",
            str(tmp_path),
            "--successes",
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "RASA_TELEMETRY_ENABLED": "false"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    failed = (tmp_path / "failed_test_stories.yml").read_text("utf-8")
    accuracy = json.loads((tmp_path / "story_report.json").read_text("utf-8"))
    assert accuracy["conversation_accuracy"] == {
        "accuracy": 1.0,
        "correct": len(ours),
        "with_warnings": 0,
        "total": len(ours),
    }, failed
    passed = yaml.safe_load((tmp_path / "successful_test_stories.yml").read_text("utf-8"))
    read = {}
    for story in passed["stories"]:
        match = NAME_AND_FILE.match(story["story"])
        assert match, story["story"]
        read[match["name"]] = Path(match["file"])
    # Every story Rasa read is one of ours, from our folder: nothing from .venv.
    assert read == ours
