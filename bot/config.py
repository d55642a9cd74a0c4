"""Settings from the environment, read once and checked up front."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from bot.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = f"sqlite:///{PROJECT_ROOT / 'var' / 'bot.db'}"
# Only good for development: production must set its own secret.
DEVELOPMENT_AUTH_SECRET = "dev-only-secret-change-me-0123456789abcdef"
MIN_SECRET_LENGTH = 32
DEVELOPMENT = "development"


@dataclass(frozen=True)
class Settings:
    """What the bot needs to know about its environment."""

    database_url: str
    auth_secret: str
    environment: str
    token_ttl_seconds: int
    # Where customers' browsers reach the Rasa server (card form links).
    public_url: str = "http://127.0.0.1:5005"
    # The bot's folder, whose data/nlu the console's NLU inbox adds examples to.
    project_dir: Path = PROJECT_ROOT

    @property
    def is_production(self) -> bool:
        """Anything but development: a typo ("prod", "staging") fails closed."""
        return self.environment != DEVELOPMENT


def load_settings(environ: dict[str, str] | None = None) -> Settings:
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
    return Settings(
        database_url=env.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
        auth_secret=secret,
        environment=environment,
        token_ttl_seconds=ttl,
        public_url=(env.get("BOT_PUBLIC_URL") or "http://127.0.0.1:5005").rstrip("/"),
        project_dir=Path(env.get("BOT_PROJECT_DIR") or PROJECT_ROOT),
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, built on first use."""
    return load_settings()
