"""Who is an administrator, and who is someone at all: the one rule every admin check uses.

An admin is a *person*: a user id in ADMIN_USER_IDS, or the user of a private chat listed in
ADMIN_CHAT_IDS (a private chat's id is its user's id, and nobody else can write there). Being
in an admin group makes nobody an admin: groups have ordinary members, commenters, anonymous
admins and channel posts.

Some senders are not one person, so neither admin rights nor ownership can hang on them:
- an anonymous group admin writes as GroupAnonymousBot (1087968824) with `sender_chat` set to
  the group itself; every anonymous admin of every group shares that user id;
- a post sent on behalf of a channel comes from Channel_Bot (136817688) with `sender_chat` the
  channel, and a channel post auto-forwarded into its linked discussion group from Telegram
  (777000), `sender_chat` the channel again.
A message with `sender_chat` set is therefore never an admin's and owns nothing
(https://core.telegram.org/bots/api#message: "sender_chat ... the supergroup itself for
messages sent by its anonymous administrators ... the linked channel for messages
automatically forwarded to the channel's discussion group").
"""

from __future__ import annotations

from dataclasses import dataclass

# Telegram's placeholder senders (fixed ids, the same in every group).
ANONYMOUS_ADMIN_USER_ID = 1087968824  # @GroupAnonymousBot
CHANNEL_BOT_USER_ID = 136817688  # @Channel_Bot: "send as channel" in groups
SERVICE_USER_ID = 777000  # Telegram: auto-forwarded channel posts, service notices
SHARED_USER_IDS = frozenset({ANONYMOUS_ADMIN_USER_ID, CHANNEL_BOT_USER_ID, SERVICE_USER_ID})


def is_person(user_id: int | None, sender_chat_id: int | None = None) -> bool:
    """True when the sender is one identifiable person: a user id of their own, no sender_chat."""
    return user_id is not None and sender_chat_id is None and user_id not in SHARED_USER_IDS


@dataclass(frozen=True)
class Admins:
    """The administrators and the chats admin commands may answer in."""

    user_ids: frozenset[int]
    chat_ids: frozenset[int]

    @classmethod
    def of(cls, admin_user_ids: tuple[int, ...], admin_chat_ids: tuple[int, ...]) -> Admins:
        # A private admin chat (positive id) is its user's: that user is an admin too.
        users = set(admin_user_ids) | {chat for chat in admin_chat_ids if chat > 0}
        return cls(frozenset(users - SHARED_USER_IDS), frozenset(admin_chat_ids))

    def is_admin(self, user_id: int | None, sender_chat_id: int | None = None) -> bool:
        """The sender is an admin: a listed person, never an anonymous or channel sender."""
        return is_person(user_id, sender_chat_id) and user_id in self.user_ids

    def may_use_admin_commands(
        self, chat_id: int, private: bool, user_id: int | None, sender_chat_id: int | None
    ) -> bool:
        """Admin commands need an admin, asking in private or in an admin chat (anywhere else
        the answer would reach people who are not admins)."""
        if not self.is_admin(user_id, sender_chat_id):
            return False
        return private or chat_id in self.chat_ids

    @staticmethod
    def only_admins_read(private: bool) -> bool:
        """Customers' texts (dead letters) are shown only where an admin alone reads: in private.
        An admin group also has members who are not admins."""
        return private


def personal_data_allowed(chat_id: int, staff_chat_id: int | None, private: bool) -> bool:
    """Whether a message may carry customers' names, phones, addresses and order texts: only
    in the staff chat (STAFF_CHAT_ID) and in a staff member's private chat. An admin group's
    other members see order ids and states."""
    return private or (staff_chat_id is not None and chat_id == staff_chat_id)
