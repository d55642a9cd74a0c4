"""The bot's own web endpoints, served by the Rasa server as input channels."""
