"""Errors the bot raises on purpose.

BotError
├── ConfigError        settings are missing or unsafe; raised at start-up
├── AuthError          a customer token is missing, malformed, forged or expired
├── NotFound           a customer, subscription or card does not exist
└── SchemaError        the database's schema is not one this version can use or upgrade
"""


class BotError(Exception):
    """Base class for every error the bot raises deliberately."""


class ConfigError(BotError):
    """The environment does not describe a usable configuration."""


class AuthError(BotError):
    """The customer could not be identified from the channel metadata."""


class NotFound(BotError):
    """A record the caller asked for does not exist."""


class SchemaError(BotError):
    """The database's tables are not as any version of the bot made them, or are newer."""
