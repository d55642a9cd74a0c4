"""`rasa test` in the repo root reads our test stories, not those inside .venv."""

from __future__ import annotations

from pathlib import Path

from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader
from rasa.shared.data import get_data_files

from bot.config import PROJECT_ROOT
from bot.nlu.story_search import install_story_search, skipped


def test_the_search_from_the_repo_root_finds_our_stories_and_nothing_in_a_venv(
    tmp_path: Path,
) -> None:
    # A project like ours: its stories, and a virtual environment carrying Rasa's
    # example stories (as .venv does; Rasa 3.6's default path for `rasa test` is ".").
    (tmp_path / "tests" / "stories").mkdir(parents=True)
    ours = tmp_path / "tests" / "stories" / "test_settle.yml"
    ours.write_text("stories: []\n")
    for venv in (".venv", "env"):
        example = tmp_path / venv / "lib" / "rasa" / "initial_project" / "tests"
        example.mkdir(parents=True)
        (example / "test_stories.yml").write_text("stories: []\n")
        (tmp_path / venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    install_story_search()
    found = get_data_files(str(tmp_path), YAMLStoryReader.is_test_stories_file)
    assert found == [str(ours)]


def test_the_real_repo_root_gives_exactly_the_files_in_tests_stories() -> None:
    install_story_search()
    found = {
        Path(p).resolve()
        for p in get_data_files(str(PROJECT_ROOT), YAMLStoryReader.is_test_stories_file)
    }
    ours = {p.resolve() for p in (PROJECT_ROOT / "tests" / "stories").glob("test_*.yml")}
    assert ours and found == ours


def test_what_is_left_out() -> None:
    assert skipped(".", ".venv") and skipped(".", ".git") and skipped(".", "node_modules")
    assert not skipped(".", "tests") and not skipped(".", "data")
