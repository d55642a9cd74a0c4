"""Everything the Rasa server loads by name, and the changes to Rasa they need.

credentials.yml names the channels (channels.py; the pages in bot.web build on
them), endpoints.yml the stores (stores.py) and the event broker (broker.py).
Importing this package installs every change to Rasa (patches.install), so each
of them brings all the changes and none depends on another being configured.
"""

from bot.rasa_plugins.patches import install

install()
