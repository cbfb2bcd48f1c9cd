"""Everything a worker needs to talk to Telegram, over plain `requests` and Redis.

- `client`: the Bot API client and its typed errors.
- `limits`: Telegram's flood limits, kept by every process together in Redis.
- `pressure`: when traffic nears the bot-wide limit, so progress edits give way.
- `courier`: the one path every worker message takes: once per key, in limits.

No python-telegram-bot and no Celery here (core's rule): the bot and the tasks build on it.
"""
