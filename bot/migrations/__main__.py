"""`python -m bot.migrations COMMAND`: Alembic's own commands on the bot's migrations."""

import sys

from bot.migrations.runner import main

sys.exit(main())
