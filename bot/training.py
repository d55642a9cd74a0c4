"""Training when the data changed, and loading the model into the running server.

Rasa's own fingerprinting decides whether anything changed (`rasa train` keeps
the old model file when config, domain and data are the same). Loading goes
through Rasa's HTTP API (`PUT /model`): the server swaps the model and keeps its
tracker store, so conversations in progress carry on.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

MODEL_NAME = "billing"


def model_path(project: Path) -> Path:
    return project / "models" / f"{MODEL_NAME}.tar.gz"


def _stamp(path: Path) -> tuple[int, int] | None:
    return (path.stat().st_mtime_ns, path.stat().st_size) if path.exists() else None


def train_if_changed(project: Path) -> tuple[Path, bool]:
    """Runs `rasa train` in the project; True when it wrote a new model.

    Raises:
        subprocess.CalledProcessError: training failed (Rasa printed why).
    """
    model = model_path(project)
    before = _stamp(model)
    rasa = Path(sys.executable).parent / "rasa"
    subprocess.run(
        [str(rasa), "train", "--fixed-model-name", MODEL_NAME, "--out", "models"],
        cwd=project,
        check=True,
        env={**os.environ, "RASA_TELEMETRY_ENABLED": "false"},
    )
    return model, _stamp(model) != before


def load_into_server(url: str, model: Path, timeout: float = 300) -> None:
    """Asks the Rasa server at `url` to load `model` (Rasa's `PUT /model`).

    Raises:
        OSError: the server is not reachable or refused the model.
    """
    request = urllib.request.Request(
        f"{url.rstrip('/')}/model",
        data=json.dumps({"model_file": str(model.resolve())}).encode(),
        headers={"Content-Type": "application/json"},
        method="PUT",
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        if response.status not in (200, 204):
            raise OSError(f"the server answered {response.status}")
