"""`rasa test` searches the project folder for test stories: not .venv.

Rasa 3.6's `rasa test` (and `rasa test core --e2e`) reads every `test_*.yml`
below its default path, the project folder itself, and walks into `.venv`,
where Rasa's own example stories lie: its score was then 0.387 on stories that
are not ours. Here the search skips hidden folders (`.venv`, `.git`, `.cache`),
any other virtual environment (a folder with `pyvenv.cfg`) and `node_modules`,
for every data search of the process. Our stories are in tests/stories.

Installed by bot.rasa_plugins.patches and by this package's components (Rasa
loads them for every command that loads the model, `rasa test` included,
before it searches for stories).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

SKIPPED = {"node_modules", "__pycache__"}


def skipped(parent: str, name: str) -> bool:
    """Whether the data search leaves this folder out."""
    return (
        name.startswith(".")
        or name in SKIPPED
        or (Path(parent) / name / "pyvenv.cfg").exists()
    )


def _find_data_files_in_directory(
    directory: str, filter_property: Callable[[str], bool]
) -> set[str]:
    """Rasa's own search (rasa.shared.data), with the folders above left out."""
    from rasa.shared.data import is_valid_filetype

    found: set[str] = set()
    for root, folders, files in os.walk(directory, followlinks=True):
        folders[:] = [name for name in folders if not skipped(root, name)]
        # sorted, as Rasa does, for repeatable training
        for name in sorted(files):
            path = os.path.join(root, name)
            if is_valid_filetype(path) and filter_property(path):
                found.add(path)
    return found


def install_story_search() -> None:
    """Idempotent."""
    import rasa.shared.data

    rasa.shared.data._find_data_files_in_directory = _find_data_files_in_directory
