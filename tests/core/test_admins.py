"""The admin rule: admins are people, never a group's members or an anonymous sender."""

from __future__ import annotations

import pytest

from core.admins import (
    ANONYMOUS_ADMIN_USER_ID,
    CHANNEL_BOT_USER_ID,
    SERVICE_USER_ID,
    Admins,
    is_person,
)
from core.settings import Settings

ADMIN = 5
MEMBER = 6
ADMIN_GROUP = -100_900
OTHER_GROUP = -100_901
CHANNEL = -100_777


@pytest.fixture
def admins() -> Admins:
    # ADMIN's private chat is an admin chat; 42 is an admin by ADMIN_USER_IDS alone.
    return Admins.of(admin_user_ids=(42,), admin_chat_ids=(ADMIN, ADMIN_GROUP))


@pytest.mark.parametrize(
    ("chat_id", "private", "user_id", "sender_chat", "allowed"),
    [
        (ADMIN, True, ADMIN, None, True),  # an admin in their own private chat
        (42, True, 42, None, True),  # ADMIN_USER_IDS, in private
        (ADMIN_GROUP, False, 42, None, True),  # an admin in an admin group
        (ADMIN_GROUP, False, ADMIN, None, True),
        (MEMBER, True, MEMBER, None, False),  # anyone else in private
        (ADMIN_GROUP, False, MEMBER, None, False),  # a member of the admin group is not an admin
        (OTHER_GROUP, False, 42, None, False),  # an admin, but the answer would reach others
        # An anonymous admin of the admin group: GroupAnonymousBot, sender_chat the group.
        (ADMIN_GROUP, False, ANONYMOUS_ADMIN_USER_ID, ADMIN_GROUP, False),
        # A channel post auto-forwarded into the admin group (its discussion group).
        (ADMIN_GROUP, False, SERVICE_USER_ID, CHANNEL, False),
        # A member posting as a channel.
        (ADMIN_GROUP, False, CHANNEL_BOT_USER_ID, CHANNEL, False),
        # Even an admin's own id does not count with a sender_chat (not theirs to vouch for).
        (ADMIN_GROUP, False, 42, CHANNEL, False),
    ],
)
def test_only_admin_people_use_admin_commands(
    admins: Admins,
    chat_id: int,
    private: bool,
    user_id: int,
    sender_chat: int | None,
    allowed: bool,
) -> None:
    assert admins.may_use_admin_commands(chat_id, private, user_id, sender_chat) is allowed


def test_listing_a_shared_id_as_admin_makes_nobody_an_admin() -> None:
    admins = Admins.of(admin_user_ids=(ANONYMOUS_ADMIN_USER_ID, SERVICE_USER_ID), admin_chat_ids=())
    assert not admins.is_admin(ANONYMOUS_ADMIN_USER_ID)
    assert not admins.is_admin(SERVICE_USER_ID)


def test_shared_senders_are_not_people() -> None:
    assert is_person(MEMBER)
    assert not is_person(MEMBER, CHANNEL)
    assert not is_person(ANONYMOUS_ADMIN_USER_ID)
    assert not is_person(None)


def test_customer_texts_only_in_private() -> None:
    assert Admins.only_admins_read(private=True)
    assert not Admins.only_admins_read(private=False)


def test_admin_user_ids_setting() -> None:
    settings = Settings.from_env({"ADMIN_USER_IDS": "7, 8", "ADMIN_CHAT_IDS": "-100900"})
    assert settings.admin_user_ids == (7, 8)
    admins = Admins.of(settings.admin_user_ids, settings.admin_chat_ids)
    assert admins.user_ids == {7, 8}
