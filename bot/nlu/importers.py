"""Keeps the held-out NLU test files out of training.

`rasa train` reads every YAML file under data/, and the held-out evaluation sets
live in data/test/. This importer is the stock file importer minus that folder,
named in config.yml so that plain `rasa train` and `rasa data validate` use it.
"""

from __future__ import annotations

from pathlib import Path

from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader
from rasa.shared.data import get_data_files, is_nlu_file
from rasa.shared.importers.rasa import RasaFileImporter

HELD_OUT_DIR = "test"


class HeldOutExcludingImporter(RasaFileImporter):
    """RasaFileImporter that skips any file inside a `data/test/` folder."""

    def __init__(
        self,
        config_file: str | None = None,
        domain_path: str | None = None,
        training_data_paths: str | list[str] | None = None,
    ) -> None:
        super().__init__(config_file, domain_path, training_data_paths)
        self._nlu_files = [
            f for f in get_data_files(training_data_paths, is_nlu_file) if not is_held_out(f)
        ]
        self._story_files = [
            f
            for f in get_data_files(training_data_paths, YAMLStoryReader.is_stories_file)
            if not is_held_out(f)
        ]


def is_held_out(path: str) -> bool:
    """Whether `path` lies in a held-out folder: .../data/test/..."""
    parts = Path(path).resolve().parts
    return any(a == "data" and b == HELD_OUT_DIR for a, b in zip(parts, parts[1:], strict=False))
