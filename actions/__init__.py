"""Rasa SDK actions: thin adapters from the tracker to `bot` and back to responses.

Importing the package inside a running action server makes the server refuse
calls without the installation's action secret (actions/guard.py).
"""

from actions.guard import protect_action_server

protect_action_server()
