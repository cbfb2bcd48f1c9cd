"""The Telegram side of the workers, over plain `requests` and Redis: one module per job.

- `client`: the Bot API client (HTTP, typed errors; never logs the token).
- `rate_limiter`: the shared flood limiter, Telegram's limits kept by every process (the
  workers and the bot, bot/rate_limiter.py) together in one Redis; `saturation`: when
  traffic nears the bot-wide limit, so progress edits give way.
- `limited_calls`: one Bot API call inside the shared limiter (a slot, a 429's hold, an
  upgraded group followed).
- `once_per_key`: sends made once per logical key; `coalesced_edits`: status edits, only the
  newest text sent; `dead_letters`: what Telegram kept refusing; `reachability`: chats that
  blocked the bot; `handover`: the message shape a task carries and `Later`, the hand-over
  of a wait to a task.
- `courier`: the one entry every worker message takes, tying them together.

No python-telegram-bot and no Celery here (core's rule): the bot and the tasks build on it.
"""
