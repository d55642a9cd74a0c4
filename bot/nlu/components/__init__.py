"""Custom Rasa NLU components, one per module."""
