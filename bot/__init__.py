"""The Telegram front end: `python -m bot` runs it."""
