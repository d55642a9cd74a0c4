"""Which Rasa servers the launcher started, for commands that must reach every one.

`bot train` loads a new model into each Rasa server (a server keeps the model it
was started with until told otherwise; in production mode there are several behind
nginx, which does not forward the HTTP API). The launcher (bot.ops.launch.Stack)
records the servers it started in its working folder, `rasa-servers.json`:

    {"launcher_pid": 4242, "rasa_urls": ["http://127.0.0.1:5101", "http://127.0.0.1:5102"]}

and removes the file when it stops. A record whose launcher is no longer running
(killed, the machine restarted) is not used.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from bot.config import PROJECT_ROOT

RECORD_NAME = "rasa-servers.json"
# Where `bot serve` works unless given --workdir.
DEFAULT_WORKDIR = PROJECT_ROOT / "var" / "serve"


@dataclass(frozen=True)
class Recorded:
    """The Rasa servers of a launcher, and whether that launcher is still running."""

    path: Path
    launcher_pid: int
    rasa_urls: list[str]

    @property
    def launcher_running(self) -> bool:
        return process_running(self.launcher_pid)


def record_path(workdir: Path) -> Path:
    return workdir / RECORD_NAME


def write_record(workdir: Path, rasa_urls: list[str], launcher_pid: int | None = None) -> Path:
    """Records the servers, replacing the file at once (a reader sees the old or the new)."""
    path = record_path(workdir)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {"launcher_pid": launcher_pid or os.getpid(), "rasa_urls": list(rasa_urls)}
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
    temporary.replace(path)
    return path


def remove_record(workdir: Path, launcher_pid: int | None = None) -> None:
    """Removes the record if this launcher (or `launcher_pid`) wrote it."""
    recorded = read_record(workdir)
    if recorded is not None and recorded.launcher_pid == (launcher_pid or os.getpid()):
        recorded.path.unlink(missing_ok=True)


def read_record(workdir: Path) -> Recorded | None:
    """The record in `workdir`; None if there is none or it cannot be read."""
    path = record_path(workdir)
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
        urls = [str(url) for url in body["rasa_urls"]]
        return Recorded(path, int(body["launcher_pid"]), urls)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def process_running(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: running
    return True
