"""Domain of pedidos-bot: no Telegram library and no Celery import lives here."""
