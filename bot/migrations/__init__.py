"""The bot's schema migrations (Alembic): env.py and versions/, run by bot.migrations.runner."""
