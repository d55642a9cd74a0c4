"""Custom Rasa NLU components, one per module.

Rasa imports them for every command that loads the model; `rasa test` then
searches for test stories, so the search that leaves .venv out is installed
here as well as in bot.rasa_plugins.patches (bot.nlu.story_search).
"""

from bot.nlu.story_search import install_story_search

install_story_search()
