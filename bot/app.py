"""Builds the bot's Application: clients, and every handler in one list."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import (
    ApplicationBuilder,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    PreCheckoutQueryHandler,
    ShippingQueryHandler,
    TypeHandler,
    filters,
)

from bot import command_menu
from bot.chataction import while_replying
from bot.context import CONTEXT_TYPES, BotApplication, BotContext
from bot.fairness import FairUpdateProcessor
from bot.handlers import (
    atrasados,
    ayuda,
    borrar,
    buttons,
    cancelar,
    carrito,
    catalogo,
    catalogo_csv,
    conversation,
    cotizar,
    entregas,
    estado,
    exportar,
    fotos_pedido,
    importar,
    informe,
    menu,
    migration,
    pago,
    pedidos,
    reachability,
    reembolsos,
    relay,
    request_quota,
    resumen,
    shopfloor,
    shopfloor_commands,
    staff,
)
from bot.handlers.staff_access import staff_only
from bot.rate_limiter import ReplyHandedOver, SharedRateLimiter, hand_over_reply
from bot.services import Services
from core import metrics, redisconn, sentinel_watch, texts
from core.cart.drafts import DraftStore
from core.cart.store import CartStore
from core.catalogue import loading as catalogue_loading
from core.catalogue.store import CatalogueStore
from core.conversation.store import ConversationStore
from core.db.engine import Database, is_outage
from core.keyboards import (
    CART,
    CATALOGUE,
    CONVERSATION,
    ERASE,
    IMPORTED,
    LIST,
    MENU,
    ORDER,
    PRICE,
    QUOTE,
    SHOPFLOOR,
    STAFF,
)
from core.orders.store import OrderStore
from core.payments.store import PaymentStore
from core.photos.jobs import PhotoJobStore
from core.quotas import Quotas
from core.receipts.shop import receipt_book
from core.recovery.starts import PendingStarts
from core.settings import Settings
from core.telegram.rate_limiter import Limits

log = logging.getLogger(__name__)


def build_application(settings: Settings, db: Database) -> BotApplication:
    """The Application with its clients and handlers, ready to run polling or a webhook."""
    app = (
        ApplicationBuilder()
        .token(settings.telegram_bot_token.get_secret_value())
        # Every handler's context is a BotContext, with the services typed (bot.context).
        .context_types(CONTEXT_TYPES)
        .base_url(settings.bot_api_base)
        .base_file_url(settings.bot_file_base)
        # Updates from different chats are handled concurrently (the store is atomic), and
        # one chat's one at a time, so a flooding chat holds a single slot.
        .concurrent_updates(FairUpdateProcessor(running=32, presses_by_card=_staff_chats(settings)))
        # The bot's own sends share the workers' flood-limit buckets in Redis; a reply that
        # would wait long for its chat goes to the workers' delivery queue instead.
        .rate_limiter(
            SharedRateLimiter(
                lambda: redisconn.connect_async(settings),
                Limits.from_settings(settings),
                max_wait=settings.reply_max_wait,
                hand_over=hand_over_reply,
            )
        )
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
        .build()
    )
    app.bot_data.services = _services(settings, db)
    # Group -2 runs before every other handler and never stops them.
    app.add_handler(TypeHandler(Update, reachability.chat_is_back), group=-2)
    # Group -1: a button press not signed for its chat, or over its sender's request quota,
    # stops here, answered, before any handler of its kind sees it (bot.handlers.buttons).
    app.add_handler(CallbackQueryHandler(buttons.guard), group=-1)
    # And a command over its sender's request quota (QUOTA_REQUESTS_PER_MINUTE).
    commands = filters.UpdateType.MESSAGE & filters.COMMAND
    app.add_handler(MessageHandler(commands, request_quota.command), group=-1)
    app.add_handlers(_handlers())
    app.add_error_handler(_on_error)
    return app


def _staff_chats(settings: Settings) -> frozenset[int]:
    return frozenset({settings.staff_chat_id or 0} - {0})


def _services(settings: Settings, db: Database) -> Services:
    """The clients every handler shares, as context.services (bot.context)."""
    # One switch for every client: REDIS_URL, or the Sentinels' master (core.redisconn).
    redis_client = redisconn.connect(settings)
    store = OrderStore(db, PendingStarts(redis_client))
    return Services(
        settings=settings,
        redis=redis_client,
        fence=redisconn.ReplicaFence.from_settings(redis_client, settings),
        store=store,
        photo_jobs=PhotoJobStore(db, PendingStarts(redis_client)),
        conversations=ConversationStore(redis_client, settings.conversation_timeout),
        quotas=Quotas.from_settings(redis_client, settings),
        starts=PendingStarts(redis_client),
        catalogue=CatalogueStore(db),
        carts=CartStore(redis_client, settings.cart_ttl),
        drafts=DraftStore(redis_client),
        payments=PaymentStore(store, receipt_book(settings, db)),
    )


def _handlers() -> list[BaseHandler[Update, BotContext, None]]:
    """Every handler, in the order PTB tries them."""
    # Commands and photos act on new messages only. PTB's CommandHandler and MessageHandler
    # also take edited messages by default: editing an old /pedido would place a second order
    # (and charge again) once the message's dedupe key has expired.
    new = filters.UpdateType.MESSAGE
    return [
        *_payment_handlers(new),
        *_customer_handlers(new),
        *_staff_handlers(new),
        # A group upgraded to a supergroup: its orders and conversations follow it.
        MessageHandler(new & filters.StatusUpdate.MIGRATE, migration.migrated),
        # A CSV document from staff: a catalogue (by its header) is previewed, anything else
        # is an orders import (before photos, which take any document).
        MessageHandler(new & importar.CSV_DOCUMENTS, while_replying(catalogo_csv.on_csv)),
        # Photos, and any document: a non-image document gets a clear "not an image". With
        # staff on, a photo may be a relayed message or attached to an open order first.
        MessageHandler(new & (filters.PHOTO | filters.Document.ALL), fotos_pedido.foto),
        # A button press no kind's handler took: answered all the same, once.
        CallbackQueryHandler(buttons.unanswered),
        # Plain text last, after every command: a reply relayed between staff and customer
        # (with staff on), else a guided order's answer; in groups only when it replies to
        # the bot or mentions it, otherwise it is not for us.
        MessageHandler(new & filters.TEXT & ~filters.COMMAND, relay.on_text),
    ]


Handlers = list[BaseHandler[Update, BotContext, None]]


def _payment_handlers(new: filters.BaseFilter) -> Handlers:
    return [
        # Telegram fails a payment not answered within 10 s: never blocks (bot.fairness too).
        PreCheckoutQueryHandler(pago.pre_checkout, block=False),
        ShippingQueryHandler(pago.shipping, block=False),
        MessageHandler(new & filters.SUCCESSFUL_PAYMENT, pago.successful_payment),
        MessageHandler(new & filters.StatusUpdate.REFUNDED_PAYMENT, pago.refunded_payment),
        CommandHandler("paysupport", pago.paysupport, filters=new),
        CommandHandler(["terminos", "terms"], pago.terms, filters=new),
    ]


def _customer_handlers(new: filters.BaseFilter) -> Handlers:
    # Commands work as /cmd@thisbot too; PTB ignores /cmd@anotherbot in groups.
    # Those that read the store show "typing…" when their reply is slow.
    return [
        CommandHandler(["start", "ayuda", "help"], ayuda.ayuda, filters=new),
        # /pedido (a staff member's /pedido P-XXXXXX shows that order), /cola, /buscar.
        *shopfloor_commands.handlers(new),
        # A guided /pedido's questions, and a priced /pedido's summary (Confirmar / Cambiar).
        buttons.on(CONVERSATION, conversation.on_button),
        buttons.on(QUOTE, resumen.on_button),
        CommandHandler(["estado", "status"], while_replying(estado.estado), filters=new),
        # The status message's Actualizar / Cancelar.
        buttons.on(ORDER, buttons.order_button),
        CommandHandler("menu", while_replying(menu.menu), filters=new),
        buttons.on(MENU, menu.on_button),
        CommandHandler(["carrito", "cart"], while_replying(carrito.carrito), filters=new),
        buttons.on(CART, carrito.on_button),
        CommandHandler(["borrar_mis_datos", "forget_me"], borrar.borrar_mis_datos, filters=new),
        buttons.on(ERASE, borrar.on_button),
        CommandHandler(["pedidos", "orders"], while_replying(pedidos.pedidos), filters=new),
        buttons.on(LIST, pedidos.on_button),
        CommandHandler(["cancelar", "cancel"], while_replying(cancelar.cancelar), filters=new),
        CommandHandler(["mensaje", "message"], relay.mensaje, filters=new),  # STAFF_CHAT_ID
    ]


def _staff_handlers(new: filters.BaseFilter) -> Handlers:
    # Staff only: `staff_only` refuses anyone else with a short reply (the alert buttons and
    # /atrasados, /entregas check the admin rule themselves); not in the public menu.
    return [
        CommandHandler(
            ["borrar_datos", "forget_customer"], staff_only(borrar.borrar_datos), filters=new
        ),
        CommandHandler(["atrasados", "stale"], atrasados.atrasados, filters=new),
        # A stale-order card's buttons (the watcher's, and /atrasados').
        buttons.on(STAFF, staff.on_button),
        # An order card's moves (STAFF_CHAT_ID), /cola's and /buscar's Abrir; Cotizar.
        buttons.on(SHOPFLOOR, shopfloor.on_button),
        buttons.on(PRICE, cotizar.on_button),
        CommandHandler(["entregas", "deliveries"], entregas.entregas, filters=new),
        CommandHandler(
            ["informe", "report"], staff_only(while_replying(informe.informe)), filters=new
        ),
        CommandHandler(["exportar", "export"], staff_only(exportar.exportar), filters=new),
        CommandHandler(["importar", "import"], staff_only(importar.importar), filters=new),
        # An imported order's Confirmar / Rechazar, pressed by its customer (core.importer).
        buttons.on(IMPORTED, importar.on_button),
        CommandHandler(["catalogo", "catalogue"], staff_only(catalogo.catalogo), filters=new),
        # A catalogue file's preview: Aplicar / Cancelar.
        buttons.on(CATALOGUE, catalogo_csv.on_button),
        CommandHandler(["precio", "price"], staff_only(catalogo.precio), filters=new),
        CommandHandler("stock", staff_only(catalogo.stock), filters=new),
        CommandHandler(["agotado", "soldout"], staff_only(catalogo.agotado), filters=new),
        CommandHandler(["reembolsos", "refunds"], staff_only(reembolsos.reembolsos), filters=new),
        CommandHandler(["reembolsar", "refund"], staff_only(reembolsos.reembolsar), filters=new),
    ]


async def _post_init(app: BotApplication) -> None:
    """Follow the Sentinels' master (core.sentinel_watch); load CATALOG_FILE into an empty
    catalogue; publish the command menu in every language, admin chats also getting theirs."""
    services = app.bot_data.services
    app.bot_data.master_watch = sentinel_watch.follow(
        services.settings, loop=asyncio.get_running_loop()
    )
    await asyncio.to_thread(catalogue_loading.load_at_start, services.settings, services.store.db)
    # /metrics reads how many orders wait in each state from the database at each scrape.
    metrics.set_waiting_source(services.store.waiting_by_state)
    await command_menu.publish(app.bot, services.settings)


async def _post_shutdown(app: BotApplication) -> None:
    if app.bot_data.master_watch:
        app.bot_data.master_watch.stop()
    app.bot_data.services.redis.close()
    app.bot_data.services.store.db.dispose()


async def _on_error(update: object, context: BotContext) -> None:
    """Log a handler's failure with the update it was handling."""
    chat = update.effective_chat.id if isinstance(update, Update) and update.effective_chat else "-"
    if isinstance(context.error, ReplyHandedOver):
        # Not a failure: the chat was busy and a worker sends the reply when its slot comes.
        log.info("chat=%s %s", chat, context.error)
        return
    log.error("handler failed chat=%s: %s", chat, context.error, exc_info=context.error)
    if context.error is not None and is_outage(context.error) and isinstance(update, Update):
        # The database is unreachable: the customer hears "try again" rather than nothing.
        message = update.effective_message
        if message is not None and update.message is not None:
            user = update.effective_user
            lang = texts.pick_language(user.language_code if user else None)
            with contextlib.suppress(TelegramError):
                await message.reply_html(texts.text(lang, "order.error.unavailable"))
