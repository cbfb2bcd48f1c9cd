"""/menu: the categories as buttons, then a category's products one card at a time (photo,
name, price) with − / + and Añadir, which puts it in the chat's cart (/carrito), and ◀ ▶ to
the next product, edited in place: one message per category, within the chat's flood limits.
"""

from __future__ import annotations

import logging
from pathlib import Path

from telegram import InputMediaPhoto, Message

from bot.context import BotContext, Incoming, on_message
from bot.handlers.presses import Answer, Press, edit_pressed, patiently
from bot.markup import inline
from core import texts
from core.cart.store import CartFull
from core.cart.views import browse_rows, menu_keyboard, product_caption, product_keyboard
from core.catalogue.loading import catalogue_folder, photo_file
from core.catalogue.product import Product
from core.keyboards import Keyboard

log = logging.getLogger(__name__)

# Telegram file ids of product photos already uploaded, by photo path: each is sent once.
PHOTO_IDS_KEY = "pedidos:product-photos"


@on_message
async def menu(incoming: Incoming, context: BotContext) -> None:
    await show_menu(incoming.message, context, incoming.lang)


async def show_menu(answer_to: Message, context: BotContext, lang: str) -> None:
    svc = context.services
    categories = await svc.run(svc.catalogue.categories)
    if not categories:
        await answer_to.reply_html(texts.text(lang, "shop.menu_empty"))
        return
    keyboard = menu_keyboard(answer_to.chat_id, categories, lang)
    await answer_to.reply_html(texts.text(lang, "shop.menu_title"), reply_markup=inline(keyboard))


async def on_button(press: Press, context: BotContext) -> Answer:
    """m:home, m:cat:{i} (a category's first card), m:pg:{i}:{n} (its n-th, in place),
    m:qty:{sku}:{n}, m:add:{sku}:{n}."""
    action, first, second = press.pressed.fields
    if action == "home":
        await show_menu(press.message, context, press.lang)
        return Answer()
    if action in ("cat", "pg"):
        page = int(second) if second.isdigit() else 0
        return await _browse(press, context, first, page, in_place=action == "pg")
    product = await context.services.run(context.services.catalogue.get, first)
    if product is None or not second.isdigit() or not 1 <= int(second) <= 99:
        return Answer(texts.plain(press.lang, "callback.stale"), alert=True)
    if action == "qty":
        await _quantity(press, product, int(second))
        return Answer()
    if action == "add":
        return await _add(press, context, product, int(second))
    return Answer(texts.plain(press.lang, "callback.stale"), alert=True)


async def _quantity(press: Press, product: Product, quantity: int) -> None:
    keyboard = product_keyboard(press.chat.id, product, quantity, press.lang)
    # The card's ◀ ▶ and cart rows stay as they are (Telegram's copy of the keyboard).
    markup = press.message.reply_markup
    kept = [[b.to_dict() for b in row] for row in markup.inline_keyboard[2:]] if markup else []
    rows = {"inline_keyboard": [*keyboard["inline_keyboard"], *kept]}
    await patiently(lambda: press.query.edit_message_reply_markup(reply_markup=inline(rows)))


async def _browse(
    press: Press, context: BotContext, index: str, page: int, in_place: bool
) -> Answer:
    """A category's product `page` as one card: sent anew from the menu, edited in place by
    ◀ ▶."""
    svc, lang, chat = context.services, press.lang, press.chat.id
    categories = await svc.run(svc.catalogue.categories)
    if not index.isdigit() or int(index) >= len(categories):
        return Answer(texts.plain(lang, "callback.stale"), alert=True)
    products = await svc.run(svc.catalogue.in_category, categories[int(index)])
    if not products:
        return Answer(texts.plain(lang, "shop.menu_empty"), alert=True)
    page = min(page, len(products) - 1)
    product = products[page]
    keyboard = product_keyboard(chat, product, 1, lang)
    keyboard["inline_keyboard"] += browse_rows(chat, int(index), page, len(products), lang)
    if in_place:
        await _edit_card(press, context, product, keyboard)
    else:
        await send_card(press.message, context, product, lang, keyboard)
    return Answer()


async def _edit_card(
    press: Press, context: BotContext, product: Product, keyboard: Keyboard
) -> None:
    caption = product_caption(product, press.lang)
    photo = await _photo(context, product.photo)
    if photo is None or not press.message.photo:
        await edit_pressed(press.query, caption, keyboard)
        return
    # An InputMedia takes a Path only in local mode: the file's bytes are uploaded instead.
    upload = photo.read_bytes() if isinstance(photo, Path) else photo
    media = InputMediaPhoto(upload, caption=caption, parse_mode="HTML")
    edited = await patiently(
        lambda: press.query.edit_message_media(media, reply_markup=inline(keyboard))
    )
    await _remember(context, photo, edited)


async def send_card(
    answer_to: Message, context: BotContext, product: Product, lang: str, keyboard: Keyboard
) -> None:
    """The product's card: its photo when it has one (uploaded once, then by file id)."""
    caption = product_caption(product, lang)
    photo = await _photo(context, product.photo)
    if photo is None:
        await answer_to.reply_html(caption, reply_markup=inline(keyboard), do_quote=False)
        return
    sent = await answer_to.reply_photo(
        photo, caption=caption, parse_mode="HTML", reply_markup=inline(keyboard), do_quote=False
    )
    await _remember(context, photo, sent)


async def _remember(context: BotContext, photo: str | Path, sent: object) -> None:
    if isinstance(photo, Path) and isinstance(sent, Message) and sent.photo:
        await context.services.run(
            context.services.redis.hset, PHOTO_IDS_KEY, str(photo), sent.photo[-1].file_id
        )


async def _photo(context: BotContext, photo: str) -> str | Path | None:
    """What to send as the product's photo: a URL as it is; a file of the shop's folder
    (CATALOG_FILE's, core.catalogue.loading) by its Telegram file id once uploaded; None."""
    if not photo:
        return None
    if photo.startswith(("https://", "http://")):
        return photo
    path = photo_file(photo, catalogue_folder(context.services.settings))
    if path is None:
        return None
    known = await context.services.run(context.services.redis.hget, PHOTO_IDS_KEY, str(path))
    return (known.decode() if isinstance(known, bytes) else str(known)) if known else path


async def _add(press: Press, context: BotContext, product: Product, quantity: int) -> Answer:
    svc = context.services
    try:
        await svc.run(svc.carts.add, press.chat.id, product.sku, quantity)
    except CartFull:
        return Answer(texts.plain(press.lang, "shop.cart_full"), alert=True)
    name = product.name(press.lang)
    return Answer(texts.plain(press.lang, "shop.added", quantity=quantity, name=name))
