"""Errors the bot raises on purpose.

BotError
├── ConfigError          settings are missing or unsafe; raised at start-up
├── AuthError            a customer token is missing, malformed, forged or expired
├── NotFound             a customer, subscription or card does not exist
├── NothingPastDue       the signed-in customer has no open balance
├── DatabaseUnavailable  the database could not be reached or failed a statement
└── SchemaError          the database's schema is not one this version can use or upgrade

Actions answer those a conversation meets with named responses (actions.base.ERROR_REPLIES).
"""


class BotError(Exception):
    """Base class for every error the bot raises deliberately."""


class ConfigError(BotError):
    """The environment does not describe a usable configuration."""


class AuthError(BotError):
    """The customer could not be identified from the channel metadata."""


class NotFound(BotError):
    """A record the caller asked for does not exist."""


class NothingPastDue(BotError):
    """The customer has no open balance: there is nothing to pay or to fix."""


class DatabaseUnavailable(BotError):
    """The database could not be reached or failed; the cause is chained (`__cause__`)."""


class SchemaError(BotError):
    """The database's tables are not as any version of the bot made them, or are newer."""
