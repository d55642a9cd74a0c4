"""Multilingual billing-support bot: everything except the Rasa SDK actions."""
