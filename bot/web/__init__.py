"""The bot's own web endpoints, served by the Rasa server as input channels.

credentials.yml names them, so like every plug-in Rasa loads by name they bring
the changes to Rasa (bot.rasa_plugins.patches) with them.
"""

import bot.rasa_plugins  # noqa: F401
