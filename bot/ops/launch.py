"""Starts and stops the bot's processes: action server, Rasa servers, balancer.

One code path for `bot serve` (production mode, `make run-prod`), the load
benchmark and the end-to-end tests:

- the action server: `rasa run actions`, with ACTION_SERVER_SANIC_WORKERS workers;
- one or more Rasa servers, each its own process on its own loopback port, all
  reading endpoints.yml (conversations and locks chosen by BOT_TRACKER_STORE_URL
  and BOT_LOCK_STORE_URL, see bot/rasa_plugins/stores.py);
- with several Rasa servers, nginx in front on the public port: the REST channel,
  chat page and console are spread over the servers (least connections, and a
  server that refuses connections is skipped); Socket.IO connections stay on one
  server (ip_hash), since the long-polling fallback needs that. Rasa's HTTP API
  (/conversations, /model) is not exposed through it, and a path with `..` or an
  encoded dot, slash or backslash is refused before any routing: nginx routes on
  the decoded, normalized path but passes the raw one on, so
  /webhooks/..%2f..%2fconversations/x/tracker would otherwise reach the API.

Every Rasa server requires the installation's API token (bot.rasa_plugins.guards); the
readiness checks here present it. The Rasa servers started are recorded in the
working folder (bot.ops.rasa_servers) for `bot train`, which loads a new model into
each of them.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import IO

import yaml

from bot.config import PROJECT_ROOT, Settings, load_settings
from bot.errors import ConfigError
from bot.ops.rasa_servers import remove_record, write_record
from bot.security.installation import api_token

BIN = Path(sys.executable).parent
DEFAULT_MODEL = PROJECT_ROOT / "models" / "billing.tar.gz"
DEFAULT_ACTION_PORT = 5055
STARTUP_SECONDS = 300
# One TensorFlow thread per Rasa process: the models are small, and with one process
# per core TensorFlow's own thread pools only add switching. Measured in
# docs/benchmarks.md: 13.1 -> 15.9 turns/s for one process, 19.1 -> 23.3 for two.
TF_THREADS = {"TF_INTRA_OP_PARALLELISM_THREADS": "1", "TF_INTER_OP_PARALLELISM_THREADS": "1"}
NGINX_PATHS = ("/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx")


def http_ok(url: str, timeout: float = 2) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def port_in_use(port: int) -> bool:
    """Whether something already listens on this loopback port."""
    import socket

    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def find_nginx() -> str | None:
    found = shutil.which("nginx")
    if found:
        return found
    return next((p for p in NGINX_PATHS if os.access(p, os.X_OK)), None)


def check_lock_store(url: str | None) -> None:
    """Fails early, and clearly, when the Redis of BOT_LOCK_STORE_URL does not answer."""
    if not url:
        return
    import redis

    try:
        redis.Redis.from_url(url, socket_timeout=3, socket_connect_timeout=3).ping()
    except (redis.RedisError, ValueError) as error:
        raise ConfigError(
            f"the lock store at BOT_LOCK_STORE_URL does not answer: {error}"
        ) from error


def endpoints_file(workdir: Path, action_port: int) -> Path:
    """endpoints.yml with the action server's port; the repo's file when it is the default."""
    source = PROJECT_ROOT / "endpoints.yml"
    if action_port == DEFAULT_ACTION_PORT:
        return source
    endpoints = yaml.safe_load(source.read_text(encoding="utf-8"))
    endpoints["action_endpoint"]["url"] = f"http://127.0.0.1:{action_port}/webhook"
    target = workdir / "endpoints.yml"
    target.write_text(yaml.safe_dump(endpoints, sort_keys=False), encoding="utf-8")
    return target


def nginx_config(workdir: Path, public_port: int, rasa_ports: list[int]) -> str:
    servers = "".join(
        f"    server 127.0.0.1:{port} max_fails=1 fail_timeout=3s;\n" for port in rasa_ports
    )
    proxied = (
        "      proxy_http_version 1.1;\n"
        "      proxy_set_header Host $http_host;\n"
        "      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n"
        "      proxy_read_timeout 120s;\n"
    )
    return rf"""worker_processes 1;
pid {workdir}/nginx.pid;
error_log {workdir}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {workdir}/nginx-tmp;
  proxy_temp_path {workdir}/nginx-tmp;
  fastcgi_temp_path {workdir}/nginx-tmp;
  uwsgi_temp_path {workdir}/nginx-tmp;
  scgi_temp_path {workdir}/nginx-tmp;
  client_max_body_size 1m;
  client_body_buffer_size 1m;
  proxy_max_temp_file_size 0;
  map $http_upgrade $connection_upgrade {{ default upgrade; '' ''; }}
  upstream rasa {{
    least_conn;
{servers}    keepalive 32;
  }}
  upstream rasa_sockets {{
    ip_hash;
{servers}  }}
  server {{
    listen 127.0.0.1:{public_port};
    if ($request_uri ~* "\.\.|%2e|%2f|%5c") {{ return 400; }}
    location /socket.io/ {{
      proxy_pass http://rasa_sockets;
{proxied}      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
    }}
    location ~ ^/(webhooks|chat|console)(/|$) {{
      proxy_pass http://rasa;
{proxied}      proxy_set_header Connection "";
      proxy_next_upstream error timeout;
    }}
    location / {{ return 404; }}
  }}
}}
"""


@dataclass
class Stack:
    """The bot's processes on this machine; every port on loopback."""

    workdir: Path
    env: dict[str, str]
    rasa_ports: list[int]
    action_port: int = DEFAULT_ACTION_PORT
    action_workers: int = 1
    public_port: int | None = None
    model: Path = DEFAULT_MODEL
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    _logs: dict[str, IO[bytes]] = field(default_factory=dict)

    @property
    def rasa_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.rasa_ports]

    @property
    def url(self) -> str:
        """Where customers connect: the balancer, or the only Rasa server."""
        if self.public_port is not None:
            return f"http://127.0.0.1:{self.public_port}"
        return self.rasa_urls[0]

    @property
    def action_url(self) -> str:
        return f"http://127.0.0.1:{self.action_port}"

    @cached_property
    def settings(self) -> Settings:
        """The settings the processes of this stack read from `env`."""
        return load_settings(self.env)

    @property
    def api_token(self) -> str:
        """The HTTP API token the Rasa servers of this stack require."""
        return api_token(self.settings)

    def log_path(self, name: str) -> Path:
        return self.workdir / f"{name}.log"

    def _spawn(self, name: str, command: list[str], env: dict[str, str] | None = None) -> None:
        log = self._logs.get(name)
        if log is None or log.closed:
            log = self._logs[name] = open(self.log_path(name), "ab")  # noqa: SIM115
        self.processes[name] = subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env={**self.env, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def start_actions(self) -> None:
        self._spawn(
            "actions",
            [str(BIN / "rasa"), "run", "actions", "--actions", "actions"]
            + ["--port", str(self.action_port)],
            {
                "SANIC_HOST": "127.0.0.1",
                "ACTION_SERVER_SANIC_WORKERS": str(self.action_workers),
            },
        )

    def start_rasa(self, index: int) -> None:
        port = self.rasa_ports[index]
        endpoints = endpoints_file(self.workdir, self.action_port)
        self._spawn(
            f"rasa-{port}",
            [str(BIN / "rasa"), "run", "--model", str(self.model), "--enable-api"]
            + ["--interface", "127.0.0.1", "--port", str(port)]
            + ["--credentials", str(PROJECT_ROOT / "credentials.yml")]
            + ["--endpoints", str(endpoints)],
            {key: self.env.get(key) or value for key, value in TF_THREADS.items()},
        )

    def start_balancer(self) -> None:
        if self.public_port is None:
            return
        nginx = find_nginx()
        if nginx is None:
            raise ConfigError(
                "nginx is not installed; it balances several Rasa servers "
                "(apt-get install nginx, or `make balancer`)"
            )
        (self.workdir / "nginx-tmp").mkdir(parents=True, exist_ok=True)
        config = self.workdir / "nginx.conf"
        config.write_text(nginx_config(self.workdir, self.public_port, self.rasa_ports))
        self._spawn(
            "nginx", [nginx, "-p", str(self.workdir), "-c", str(config), "-g", "daemon off;"]
        )

    def start(self, timeout: float = STARTUP_SECONDS) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        settings = self.settings
        if len(self.rasa_ports) > 1 and not settings.lock_store_url:
            raise ConfigError(
                "several Rasa servers need a shared lock store: set BOT_LOCK_STORE_URL "
                "(redis://...) and BOT_TRACKER_STORE_URL (postgresql://...)"
            )
        ports = [*self.rasa_ports, self.action_port]
        if self.public_port is not None:
            ports.append(self.public_port)
        taken = [port for port in ports if port_in_use(port)]
        if taken:
            # Another program on one of the ports would answer in our place.
            raise ConfigError(
                f"{'ports' if len(taken) > 1 else 'port'} {', '.join(map(str, taken))} already "
                "in use by another program: stop it, or choose other ports, for example "
                "make run RASA_PORT=5205 ACTIONS_PORT=5255 (bot serve --port, --action-port)"
            )
        check_lock_store(settings.lock_store_url)
        self.start_actions()
        for index in range(len(self.rasa_ports)):
            self.start_rasa(index)
        write_record(self.workdir, self.rasa_urls)  # `bot train` loads a model into each
        self.start_balancer()
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float = STARTUP_SECONDS) -> None:
        """Waits until every server answers; raises with the logs' tails if one died."""
        token = f"?token={self.api_token}"
        checks = [f"{self.action_url}/health"] + [f"{u}/status{token}" for u in self.rasa_urls]
        if self.public_port is not None:
            checks.append(f"{self.url}/webhooks/rest/")
        self._wait(checks, timeout, "the bot's servers")

    def wait_rasa(self, index: int, timeout: float = STARTUP_SECONDS) -> None:
        url = f"{self.rasa_urls[index]}/status?token={self.api_token}"
        self._wait([url], timeout, f"Rasa server {index}")

    def wait_actions(self, timeout: float = 60) -> None:
        self._wait([f"{self.action_url}/health"], timeout, "the action server")

    def _wait(self, checks: list[str], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not all(http_ok(check) for check in checks):
            dead = [name for name, p in self.processes.items() if p.poll() is not None]
            if dead or time.monotonic() > deadline:
                problem = f"{', '.join(dead)} exited" if dead else f"not ready in {timeout:.0f} s"
                raise RuntimeError(f"{what} did not start ({problem}):\n{self.tails()}")
            time.sleep(0.2)

    def tails(self, chars: int = 3000) -> str:
        parts = []
        for name in self.processes:
            path = self.log_path(name)
            if path.exists():
                text = path.read_text(errors="replace")[-chars:]
                parts.append(f"--- {name} log ---\n{text}")
        return "\n".join(parts)

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Kills one process and its children (the action server's Sanic workers)."""
        process = self.processes.get(name)
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    def stop(self) -> None:
        remove_record(self.workdir)
        for name in list(self.processes):
            self.kill(name, signal.SIGTERM)
        for log in self._logs.values():
            log.close()

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
