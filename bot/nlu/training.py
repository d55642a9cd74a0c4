"""Training when the data changed, and loading the model into the running server.

Rasa 3.6's `rasa train` restores unchanged components from its cache but still
rebuilds and rewrites the model (about half a minute). So the inputs' fingerprint
(config, domain, training data outside data/test, the custom components' code and
Rasa's version) is kept next to the model, and an unchanged project is not
retrained at all. Loading goes through Rasa's HTTP API (`PUT /model`): the server
swaps the model and keeps its tracker store, so conversations in progress carry on.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

MODEL_NAME = "billing"


def model_path(project: Path) -> Path:
    return project / "models" / f"{MODEL_NAME}.tar.gz"


def fingerprint(project: Path) -> str:
    """A hash of everything the trained model depends on."""
    import rasa

    nlu = Path(__file__).resolve().parent
    files = [project / "config.yml", project / "domain.yml"]
    files += sorted(
        p for p in (project / "data").rglob("*.yml") if "test" not in p.relative_to(project).parts
    )
    files += sorted((nlu / "components").glob("*.py"))
    files += [nlu.parent / "i18n.py", nlu / "importers.py"]
    digest = hashlib.sha256(f"rasa {rasa.__version__}\n".encode())
    for path in files:
        # A file named here but missing (moved, renamed) must not silently drop out.
        digest.update(f"{path.name}\n".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def train_if_changed(project: Path, force: bool = False) -> tuple[Path, bool]:
    """Trains unless the model was trained from exactly these inputs; True if it did.

    Raises:
        subprocess.CalledProcessError: training failed (Rasa printed why).
    """
    model = model_path(project)
    stamp = model.with_name(model.name + ".fingerprint")
    current = fingerprint(project)
    if not force and model.exists() and stamp.exists() and stamp.read_text() == current:
        return model, False
    rasa = Path(sys.executable).parent / "rasa"
    subprocess.run(
        [str(rasa), "train", "--fixed-model-name", MODEL_NAME, "--out", "models"],
        cwd=project,
        check=True,
        env={**os.environ, "RASA_TELEMETRY_ENABLED": "false"},
    )
    stamp.write_text(current)
    return model, True


def load_into_server(url: str, model: Path, timeout: float = 300) -> None:
    """Asks the Rasa server at `url` to load `model` (Rasa's `PUT /model`).

    Presents the installation's API token (bot.security.installation), which the server
    requires.

    Raises:
        OSError: the server is not reachable or refused the model.
    """
    from urllib.parse import quote

    from bot.security.installation import api_token

    request = urllib.request.Request(
        f"{url.rstrip('/')}/model?token={quote(api_token(), safe='')}",
        data=json.dumps({"model_file": str(model.resolve())}).encode(),
        headers={"Content-Type": "application/json"},
        method="PUT",
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        if response.status not in (200, 204):
            raise OSError(f"the server answered {response.status}")
