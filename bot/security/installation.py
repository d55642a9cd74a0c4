"""Secrets of this installation: made once, kept out of git, readable by the owner only.

One random key, `var/installation.key` (mode 0600, created on first use), from
which each purpose derives its own secret:

  api_token()          Rasa's HTTP API (`--auth-token`): `bot train`, `bot chat`,
                       the tests and the benchmark present it; nobody else can.
  action_secret()      the header Rasa sends to the action server, which refuses
                       any call without it.
  socket_session_key() signs the secret a browser gets with its Socket.IO session.

Several machines of one deployment share the key through BOT_INSTALLATION_SECRET
(at least 32 characters); BOT_API_TOKEN and BOT_ACTION_SECRET override a single
derived secret.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import stat
from functools import lru_cache
from pathlib import Path

from bot.config import MIN_SECRET_LENGTH, PROJECT_ROOT, Settings, get_settings
from bot.errors import ConfigError

logger = logging.getLogger(__name__)

KEY_FILE = PROJECT_ROOT / "var" / "installation.key"
ACTION_SECRET_HEADER = "X-Bot-Action-Secret"


def _read_or_create(path: Path) -> str:
    """The key in `path`, made with owner-only permissions if it does not exist yet.

    Written to a temporary file and linked into place, so that a process starting
    at the same moment reads either nothing or the whole key, and only one key wins.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(48) + "\n")
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process made it first: use theirs
        finally:
            temporary.unlink(missing_ok=True)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        logger.warning("%s was readable by others (mode %o); now owner-only", path, mode)
        path.chmod(0o600)
    key = path.read_text(encoding="utf-8").strip()
    if len(key) < MIN_SECRET_LENGTH:
        raise ConfigError(f"{path} holds no usable key; delete it to make a new one")
    return key


def installation_key(settings: Settings | None = None) -> str:
    """BOT_INSTALLATION_SECRET, else the key file (made on first use)."""
    configured = (settings or get_settings()).installation_secret
    return configured or _key_file()


@lru_cache(maxsize=1)
def _key_file() -> str:
    return _read_or_create(KEY_FILE)


def derive(purpose: str, settings: Settings | None = None) -> str:
    key = installation_key(settings).encode()
    return hmac.new(key, purpose.encode(), hashlib.sha256).hexdigest()


def api_token(settings: Settings | None = None) -> str:
    """The token for Rasa's HTTP API, as processes with these settings see it."""
    settings = settings or get_settings()
    return settings.api_token_override or derive("rasa-http-api", settings)


def action_secret() -> str:
    settings = get_settings()
    return settings.action_secret_override or derive("action-server", settings)


def socket_session_key() -> bytes:
    return derive("socket-session").encode()
