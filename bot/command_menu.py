"""The command menu Telegram shows beside the message box (setMyCommands), in each language
we speak: the customers' commands for everyone, the staff's too in the admin chats."""

from __future__ import annotations

import logging

from telegram import Bot, BotCommand, BotCommandScopeChat, BotCommandScopeDefault
from telegram.error import TelegramError

from core import texts
from core.settings import Settings

log = logging.getLogger(__name__)

# (Spanish command, English alias, text key of its menu description)
COMMANDS = (
    ("pedido", "order", "commands.pedido"),
    ("estado", "status", "commands.estado"),
    ("pedidos", "orders", "commands.pedidos"),
    ("cancelar", "cancel", "commands.cancelar"),
    ("ayuda", "help", "commands.ayuda"),
)
# The shop's, in the menu when it has a catalogue (CATALOG_FILE).
SHOP_COMMANDS = (
    ("menu", "menu", "commands.menu"),
    ("carrito", "cart", "commands.carrito"),
)
# When the shop takes payments (PAYMENT_METHODS), as Telegram asks of such bots.
PAYMENT_COMMANDS = (
    ("paysupport", "paysupport", "commands.paysupport"),
    ("terminos", "terms", "commands.terms"),
)
# Shown only in the ADMIN_CHAT_IDS chats' menus (others are refused if they type them).
ADMIN_COMMANDS = (
    ("atrasados", "stale", "commands.atrasados"),
    ("entregas", "deliveries", "commands.entregas"),
    ("informe", "report", "commands.informe"),
    ("exportar", "export", "commands.exportar"),
    ("importar", "import", "commands.importar"),
    ("catalogo", "catalogue", "commands.catalogo"),
    ("precio", "price", "commands.precio"),
    ("stock", "stock", "commands.stock"),
    ("agotado", "soldout", "commands.agotado"),
)
# The staff's, when the shop takes payments: refunds due at the provider.
PAYMENT_ADMIN_COMMANDS = (
    ("reembolsos", "refunds", "commands.reembolsos"),
    ("reembolsar", "refund", "commands.reembolsar"),
)


async def publish(bot: Bot, settings: Settings) -> None:
    """The command menu in every language we speak; admin chats also get theirs."""
    commands = COMMANDS + (SHOP_COMMANDS if settings.catalog_file else ())
    commands += PAYMENT_COMMANDS if settings.payment_methods else ()
    admin_commands = ADMIN_COMMANDS + (PAYMENT_ADMIN_COMMANDS if settings.payment_methods else ())
    for language in texts.languages():
        code = None if language == texts.DEFAULT_LANGUAGE else language
        await bot.set_my_commands(
            _menu(language, commands), scope=BotCommandScopeDefault(), language_code=code
        )
        for chat_id in settings.admin_chat_ids:
            try:
                await bot.set_my_commands(
                    _menu(language, commands + admin_commands),
                    scope=BotCommandScopeChat(chat_id),
                    language_code=code,
                )
            except TelegramError as exc:
                # A chat the bot has not met yet ("chat not found"): the menu is a nicety,
                # never a reason not to start.
                log.warning("admin menu not set for chat=%s: %s", chat_id, exc)


def _menu(language: str, entries: tuple[tuple[str, str, str], ...]) -> list[BotCommand]:
    """Commands by their Spanish or English names, described in `language`."""
    spanish = language == texts.DEFAULT_LANGUAGE
    return [BotCommand(es if spanish else en, texts.raw(language, key)) for es, en, key in entries]
