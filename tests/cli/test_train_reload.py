"""`bot train` loads the model into every Rasa server the launcher started.

The Rasa servers here are small HTTP servers on loopback that answer `PUT /model`
as Rasa does (204) or as a server that cannot load it (500), and record each call;
tests/e2e/test_production.py does the same against two real Rasa servers.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from bot.cli.main import main
from bot.cli.trainer import DEFAULT_RASA_URL, rasa_servers
from bot.nlu.training import fingerprint, model_path
from bot.ops.rasa_servers import read_record, record_path, remove_record, write_record
from bot.security.installation import api_token


@dataclass
class FakeRasa:
    """Answers PUT /model with `status`; `calls` holds (token, model_file) of each."""

    status: int = 204
    calls: list[tuple[str, str]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> FakeRasa:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self) -> None:  # noqa: N802 - the http.server name
                address = urlsplit(self.path)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                token = parse_qs(address.query).get("token", [""])[0]
                if address.path == "/model":
                    fake.calls.append((token, body["model_file"]))
                self.send_response(fake.status if address.path == "/model" else 404)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


@pytest.fixture
def fakes() -> Iterator[list[FakeRasa]]:
    started: list[FakeRasa] = []
    yield started
    for fake in started:
        fake.stop()


@pytest.fixture
def trained(tmp_path: Path) -> Path:
    """A project whose model is up to date, so `bot train` only loads it."""
    project = tmp_path / "project"
    (project / "models").mkdir(parents=True)
    (project / "config.yml").write_text("language: en\npipeline: []\n", encoding="utf-8")
    (project / "domain.yml").write_text('version: "3.1"\n', encoding="utf-8")
    model = model_path(project)
    model.write_bytes(b"a model")
    model.with_name(model.name + ".fingerprint").write_text(fingerprint(project))
    return project


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_every_recorded_server_loads_the_model(
    trained: Path, tmp_path: Path, fakes: list[FakeRasa], capsys: pytest.CaptureFixture
) -> None:
    fakes += [FakeRasa().start(), FakeRasa().start()]
    workdir = tmp_path / "serve"
    write_record(workdir, [fake.url for fake in fakes])
    code = main(["train", "--project", str(trained), "--workdir", str(workdir), "--reload"])
    out = capsys.readouterr().out
    assert code == 0, out
    model = str(model_path(trained).resolve())
    assert [fake.calls for fake in fakes] == [[(api_token(), model)], [(api_token(), model)]]
    for fake in fakes:
        assert f"loaded into {fake.url} (" in out
    assert "loaded into 2 Rasa server(s)" in out


def test_a_server_that_does_not_load_it_fails_the_command_with_7(
    trained: Path, tmp_path: Path, fakes: list[FakeRasa], capsys: pytest.CaptureFixture
) -> None:
    fakes += [FakeRasa(status=500).start(), FakeRasa().start()]
    closed = FakeRasa().start()
    closed.stop()  # a server that is down: its port refuses connections
    workdir = tmp_path / "serve"
    urls = [fakes[0].url, closed.url, fakes[1].url]
    write_record(workdir, urls)
    code = main(["train", "--project", str(trained), "--workdir", str(workdir), "--reload"])
    captured = capsys.readouterr()
    assert code == 7
    # The servers after a failing one are still told.
    assert len(fakes[0].calls) == len(fakes[1].calls) == 1
    assert f"loaded into {fakes[1].url} (" in captured.out
    assert f"could not load the model into {fakes[0].url}: HTTP Error 500" in captured.err
    assert f"could not load the model into {closed.url}: " in captured.err
    assert (
        f"2 of 3 Rasa server(s) did not load the model and still answer with the one they "
        f"had: {fakes[0].url}, {closed.url}" in captured.err
    )


def test_urls_given_override_the_record(
    trained: Path, tmp_path: Path, fakes: list[FakeRasa], capsys: pytest.CaptureFixture
) -> None:
    fakes += [FakeRasa().start(), FakeRasa().start(), FakeRasa().start()]
    workdir = tmp_path / "serve"
    write_record(workdir, [fakes[0].url])
    args = ["train", "--project", str(trained), "--workdir", str(workdir), "--reload"]
    assert main([*args, "--url", fakes[1].url, "--url", fakes[2].url]) == 0
    assert [len(fake.calls) for fake in fakes] == [0, 1, 1]
    capsys.readouterr()
    assert main(["train", "--project", str(trained), "--workdir", str(workdir)]) == 0
    assert "unchanged, kept" in capsys.readouterr().out
    assert [len(fake.calls) for fake in fakes] == [0, 1, 1]  # nothing new: nothing loaded


def test_without_a_running_launcher_the_default_server_is_meant(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    workdir = tmp_path / "serve"
    args = argparse.Namespace(url=None, workdir=str(workdir))
    assert rasa_servers(args) == [DEFAULT_RASA_URL]  # no record: `make run`'s server
    write_record(workdir, ["http://127.0.0.1:5101", "http://127.0.0.1:5102"])
    assert rasa_servers(args) == ["http://127.0.0.1:5101", "http://127.0.0.1:5102"]
    write_record(workdir, ["http://127.0.0.1:5101"], launcher_pid=_dead_pid())
    assert rasa_servers(args) == [DEFAULT_RASA_URL]
    assert "the launcher that wrote it" in capsys.readouterr().err


def test_the_record_is_removed_only_by_its_launcher(tmp_path: Path) -> None:
    write_record(tmp_path, ["http://127.0.0.1:5101"], launcher_pid=_dead_pid())
    remove_record(tmp_path)  # another launcher's record: kept
    recorded = read_record(tmp_path)
    assert recorded is not None and recorded.rasa_urls == ["http://127.0.0.1:5101"]
    write_record(tmp_path, ["http://127.0.0.1:5101", "http://127.0.0.1:5102"])
    remove_record(tmp_path)
    assert not record_path(tmp_path).exists() and read_record(tmp_path) is None
