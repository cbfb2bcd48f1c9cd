"""Everything a worker needs to talk to Telegram, over plain `requests` and Redis.

- `client`: the Bot API client and its typed errors.
- `limits`: Telegram's flood limits, kept by every process together in Redis; `pressure`:
  when traffic nears the bot-wide limit, so progress edits give way.
- `courier`: the one path every worker message takes, tying together
  `calls` (one call in the shared limits), `sends` (once per key), `edits` (coalesced status
  edits and their claim), `dead_letters` (what Telegram kept refusing) and `reachability`
  (chats that blocked the bot); `outgoing` holds the message shape and the hand-over to later.

No python-telegram-bot and no Celery here (core's rule): the bot and the tasks build on it.
"""
