"""Rasa SDK actions: thin adapters from the tracker to `bot` and back to responses."""
