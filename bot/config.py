"""Settings from the environment, read once and checked up front.

Every environment variable the project reads is read here, into one `Settings`
(built once by `get_settings`, or by `load_settings(env)` for the environment of
processes about to be started). Nothing else in bot/ or actions/ reads
os.environ (tests/test_architecture.py). The variables are listed in the README.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from bot.errors import ConfigError
from bot.security.auth import DEFAULT_AUDIENCE as DEFAULT_TOKEN_AUDIENCE
from bot.security.auth import public_keys
from bot.security.origins import origin_of, parse_origins

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = f"sqlite:///{PROJECT_ROOT / 'var' / 'bot.db'}"
DEFAULT_TRACKER_STORE_URL = f"sqlite:///{PROJECT_ROOT / 'var' / 'tracker.db'}"
DEFAULT_KEY_PREFIX = "billingbot"
DEFAULT_EVAL_DIR = PROJECT_ROOT.parent / "shared" / "eval"
# Only good for development: production must set its own secret.
DEVELOPMENT_AUTH_SECRET = "dev-only-secret-change-me-0123456789abcdef"
MIN_SECRET_LENGTH = 32
DEVELOPMENT = "development"


@dataclass(frozen=True)
class Settings:
    """What the bot needs to know about its environment."""

    database_url: str
    auth_secret: str = field(repr=False)
    environment: str = DEVELOPMENT
    token_ttl_seconds: int = 3600
    # Where customers' browsers reach the Rasa server (card form links).
    public_url: str = "http://127.0.0.1:5005"
    # The bot's folder, whose data/nlu the console's NLU inbox adds examples to.
    project_dir: Path = PROJECT_ROOT
    # Sites besides the bot's own whose pages may embed the chat (BOT_WIDGET_ORIGINS).
    widget_origins: tuple[str, ...] = ()
    # What customer tokens must name in `aud`, and the embedding site's public keys
    # (PEM) for RS256/ES256 tokens, if it signs its own (bot.security.auth).
    token_audience: str = DEFAULT_TOKEN_AUDIENCE
    token_public_keys: str = ""
    token_issuer: str = ""
    # Rasa's conversation store (BOT_TRACKER_STORE_URL) and, when set, Redis for the
    # conversation locks, the sign-in throttle and Socket.IO rooms (BOT_LOCK_STORE_URL).
    tracker_store_url: str = DEFAULT_TRACKER_STORE_URL
    lock_store_url: str | None = None
    redis_key_prefix: str = DEFAULT_KEY_PREFIX
    # Host names besides loopback and BOT_PUBLIC_URL's that the server answers to.
    extra_hosts: tuple[str, ...] = ()
    # The installation's key, shared by the machines of one deployment, and
    # overrides of single secrets derived from it (bot.security.installation).
    installation_secret: str = field(default="", repr=False)
    api_token_override: str = field(default="", repr=False)
    action_secret_override: str = field(default="", repr=False)
    # Where the public evaluation sets are (../shared/eval), for the overlap check.
    eval_dir: Path = DEFAULT_EVAL_DIR
    # `bot serve`: how many Rasa servers and action-server workers.
    rasa_workers: int = 2
    action_workers: int = 2
    # `bot serve`: the port customers' browsers and the console reach (BOT_PORT).
    port: int = 5005

    @property
    def own_origin(self) -> str:
        """The origin of the bot's own pages, from BOT_PUBLIC_URL."""
        return origin_of(self.public_url) or ""

    @property
    def allowed_origins(self) -> frozenset[str]:
        """Origins whose pages may talk to the chat: the bot's own and BOT_WIDGET_ORIGINS."""
        return frozenset({self.own_origin, *self.widget_origins} - {""})

    @property
    def is_production(self) -> bool:
        """Anything but development: a typo ("prod", "staging") fails closed."""
        return self.environment != DEVELOPMENT


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Builds settings from environment variables, refusing unsafe combinations.

    BOT_ENV unset means development; any other value, even an empty one, means
    production.

    Raises:
        ConfigError: production without a real secret, or a malformed value.
    """
    env = os.environ if environ is None else environ
    environment = env.get("BOT_ENV", DEVELOPMENT).strip().lower() or "production"
    production = environment != DEVELOPMENT
    secret = env.get("BOT_AUTH_SECRET", "")
    if not secret:
        if production:
            raise ConfigError(f"BOT_AUTH_SECRET must be set in production (BOT_ENV={environment})")
        secret = DEVELOPMENT_AUTH_SECRET
    elif production and secret == DEVELOPMENT_AUTH_SECRET:
        raise ConfigError(
            f"the development BOT_AUTH_SECRET is refused in production (BOT_ENV={environment})"
        )
    if len(secret) < MIN_SECRET_LENGTH:
        raise ConfigError(f"BOT_AUTH_SECRET must be at least {MIN_SECRET_LENGTH} characters")
    ttl_text = env.get("BOT_TOKEN_TTL_SECONDS", "3600")
    try:
        ttl = int(ttl_text)
    except ValueError as exc:
        raise ConfigError(f"BOT_TOKEN_TTL_SECONDS is not a number: {ttl_text!r}") from exc
    if ttl <= 0:
        raise ConfigError("BOT_TOKEN_TTL_SECONDS must be positive")
    public_url = (env.get("BOT_PUBLIC_URL") or "http://127.0.0.1:5005").rstrip("/")
    if origin_of(public_url) is None:
        raise ConfigError(f"BOT_PUBLIC_URL is not an http(s) URL: {public_url!r}")
    keys = _public_keys_text(env)
    public_keys(keys)  # a key that cannot be used stops the start, not the first customer
    prefix = env.get("BOT_REDIS_KEY_PREFIX") or DEFAULT_KEY_PREFIX
    if not prefix.isalnum():  # Rasa's rule for lock keys
        raise ConfigError(f"BOT_REDIS_KEY_PREFIX must be letters and digits only: {prefix!r}")
    installation_secret = env.get("BOT_INSTALLATION_SECRET", "")
    if installation_secret and len(installation_secret) < MIN_SECRET_LENGTH:
        raise ConfigError(
            f"BOT_INSTALLATION_SECRET must be at least {MIN_SECRET_LENGTH} characters"
        )
    return Settings(
        database_url=env.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
        auth_secret=secret,
        environment=environment,
        token_ttl_seconds=ttl,
        public_url=public_url,
        project_dir=Path(env.get("BOT_PROJECT_DIR") or PROJECT_ROOT),
        widget_origins=parse_origins(env.get("BOT_WIDGET_ORIGINS", "")),
        token_audience=(env.get("BOT_CUSTOMER_TOKEN_AUDIENCE") or DEFAULT_TOKEN_AUDIENCE).strip(),
        token_public_keys=keys,
        token_issuer=(env.get("BOT_CUSTOMER_TOKEN_ISSUER") or "").strip(),
        tracker_store_url=env.get("BOT_TRACKER_STORE_URL") or DEFAULT_TRACKER_STORE_URL,
        lock_store_url=env.get("BOT_LOCK_STORE_URL") or None,
        redis_key_prefix=prefix,
        extra_hosts=tuple(
            h.strip().lower() for h in env.get("BOT_ALLOWED_HOSTS", "").split(",") if h.strip()
        ),
        installation_secret=installation_secret,
        api_token_override=env.get("BOT_API_TOKEN", ""),
        action_secret_override=env.get("BOT_ACTION_SECRET", ""),
        eval_dir=Path(env.get("BOT_EVAL_DIR") or DEFAULT_EVAL_DIR),
        rasa_workers=_positive_int(env, "BOT_RASA_WORKERS", 2),
        action_workers=_positive_int(env, "BOT_ACTION_WORKERS", 2),
        port=_positive_int(env, "BOT_PORT", 5005),
    )


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    value = env.get(name)
    if not value:
        return default
    try:
        number = int(value)
    except ValueError as exc:
        raise ConfigError(f"{name} is not a number: {value!r}") from exc
    if number < 1:
        raise ConfigError(f"{name} must be at least 1")
    return number


def _public_keys_text(env: Mapping[str, str]) -> str:
    """PEM from BOT_CUSTOMER_TOKEN_PUBLIC_KEY, or the file BOT_CUSTOMER_TOKEN_PUBLIC_KEY_FILE."""
    inline = env.get("BOT_CUSTOMER_TOKEN_PUBLIC_KEY", "").strip()
    path = env.get("BOT_CUSTOMER_TOKEN_PUBLIC_KEY_FILE", "").strip()
    if inline and path:
        raise ConfigError(
            "set BOT_CUSTOMER_TOKEN_PUBLIC_KEY or BOT_CUSTOMER_TOKEN_PUBLIC_KEY_FILE, not both"
        )
    if not path:
        # Environments often keep a PEM on one line with literal "\n".
        return inline.replace("\\n", "\n")
    try:
        return Path(path).read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"BOT_CUSTOMER_TOKEN_PUBLIC_KEY_FILE cannot be read: {exc}") from exc


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, built on first use."""
    return load_settings()
