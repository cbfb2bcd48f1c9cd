"""What the shop shows customers: the menu, product cards, the cart and the priced summary of
a /pedido, as HTML texts and inline keyboards (plain Bot API dicts, buttons signed for the
chat: core.keyboards). Amounts are formatted per language (core.money)."""

from __future__ import annotations

from collections.abc import Sequence

from core import money, texts
from core.catalogue.product import Product
from core.keyboards import CART, MENU, QUOTE, Keyboard, button
from core.orders.pricing import Quote, QuoteProblem
from core.payments.methods import CASH, takes_invoices
from core.texts import Html

NONE = "-"


def _b(lang: str, key: str, chat_id: int, *fields: str) -> dict[str, str]:
    return button(texts.raw(lang, key), chat_id, ":".join(fields))


def menu_keyboard(chat_id: int, categories: Sequence[str], lang: str) -> Keyboard:
    rows = [
        [button(name or "—", chat_id, f"{MENU}:cat:{i}:{NONE}")]
        for i, name in enumerate(categories)
    ]
    rows.append([_b(lang, "shop.buttons.cart", chat_id, CART, "show", NONE, NONE)])
    return {"inline_keyboard": rows}


def product_caption(product: Product, lang: str) -> Html:
    stock = Html("")
    if product.sold_out:
        stock = texts.text(lang, "shop.sold_out")
    elif product.stock is not None and product.stock < 10:
        stock = texts.text(lang, "shop.stock_left", left=product.stock)
    caption = texts.text(
        lang,
        "shop.product_caption",
        name=product.name(lang),
        price=money.format_amount(product.price, product.currency, lang),
        stock=Html(stock),
    )
    if not product.description:
        return caption
    more = texts.text(lang, "shop.product_description", description=product.description)
    return Html(caption + more)


def browse_rows(chat_id: int, category: int, page: int, pages: int, lang: str) -> list[list]:
    """◀ n/N ▶ between a category's products (the card is edited in place), and the cart."""
    nav = []
    if page > 0:
        nav.append(button("◀", chat_id, f"{MENU}:pg:{category}:{page - 1}"))
    nav.append(button(f"{page + 1}/{pages}", chat_id, f"{MENU}:pg:{category}:{page}"))
    if page + 1 < pages:
        nav.append(button("▶", chat_id, f"{MENU}:pg:{category}:{page + 1}"))
    cart = [_b(lang, "shop.buttons.cart", chat_id, CART, "show", NONE, NONE)]
    return [nav, cart]


def product_keyboard(chat_id: int, product: Product, quantity: int, lang: str) -> Keyboard:
    """− quantity + / Añadir, for the product's card (the quantity lives in the buttons)."""
    sku = product.sku
    less, more = max(1, quantity - 1), min(99, quantity + 1)
    row = [
        button("−", chat_id, f"{MENU}:qty:{sku}:{less}"),
        button(str(quantity), chat_id, f"{MENU}:qty:{sku}:{quantity}"),
        button("+", chat_id, f"{MENU}:qty:{sku}:{more}"),
    ]
    add = button(
        f"{texts.raw(lang, 'shop.buttons.add')} ({quantity})",
        chat_id,
        f"{MENU}:add:{sku}:{quantity}",
    )
    return {"inline_keyboard": [row, [add]]}


def problem_text(problem: QuoteProblem, products: dict[str, Product], lang: str) -> Html:
    """The sentence a customer reads when their lines cannot be ordered as they are."""
    product = products.get(problem.sku)
    name = product.name(lang) if product else problem.sku
    values = dict(problem.values)
    for key in ("minimum", "limit"):
        if key in values and "currency" in values:
            values[key] = money.format_amount(int(str(values[key])), str(values["currency"]), lang)
    values.pop("currency", None)
    return texts.text(lang, f"shop.refused_{problem.code}", name=name, **values)


def quote_lines(quote: Quote, lang: str) -> list[str]:
    def fmt(minor: int) -> str:
        return money.format_amount(minor, quote.currency, lang)

    lines: list[str] = [
        texts.text(
            lang,
            "shop.cart_line",
            quantity=ln.quantity,
            name=ln.name(lang),
            total=fmt(ln.line_total),
        )
        for ln in quote.lines
    ]
    lines.append(texts.text(lang, "shop.subtotal", amount=fmt(quote.subtotal)))
    if quote.delivery_fee:
        lines.append(texts.text(lang, "shop.delivery", amount=fmt(quote.delivery_fee)))
    lines.append(texts.text(lang, "shop.total", amount=fmt(quote.total)))
    return lines


def quotes_text(title_key: str, quotes: Sequence[Quote], lang: str, charged: bool) -> Html:
    """A cart or a /pedido summary: each currency's lines and totals."""
    parts: list[str] = [texts.text(lang, title_key)]
    for quote in quotes:
        parts.append("\n".join(quote_lines(quote, lang)))
    if len(quotes) > 1:
        currencies = ", ".join(q.currency for q in quotes)
        parts.append(
            texts.text(lang, "shop.two_currencies", currencies=currencies, count=len(quotes))
        )
    if not charged:
        parts.append(texts.text(lang, "shop.not_charged"))
    return Html("\n\n".join(parts))


def checkout_buttons(
    chat_id: int, lang: str, methods: Sequence[str], kind: str, draft: str
) -> list[dict[str, str]]:
    """How the customer checks out: Pagar (an invoice) and/or Pagar al recibir (cash) when
    the shop takes payments (PAYMENT_METHODS), else Confirmar as an order "sin cobro"."""
    found = []
    if takes_invoices(tuple(methods)):
        found.append(_b(lang, "pay.buttons.pay", chat_id, kind, "pay", draft, NONE))
    if CASH in methods:
        found.append(_b(lang, "pay.buttons.cash", chat_id, kind, "cash", draft, NONE))
    return found


def cart_keyboard(
    chat_id: int, skus: Sequence[tuple[str, str]], lang: str, methods: Sequence[str] = ()
) -> Keyboard:
    """− name + for each line, then Vaciar and Confirmar pedido (or the ways to pay)."""
    rows = [
        [
            button("−", chat_id, f"{CART}:dec:{sku}:{NONE}"),
            button(name[:30], chat_id, f"{CART}:show:{NONE}:{NONE}"),
            button("+", chat_id, f"{CART}:inc:{sku}:{NONE}"),
        ]
        for sku, name in skus
    ]
    empty = _b(lang, "shop.buttons.empty", chat_id, CART, "clear", NONE, NONE)
    paying = checkout_buttons(chat_id, lang, methods, CART, NONE)
    if paying:
        rows.extend([paying, [empty]])
    else:
        rows.append([empty, _b(lang, "shop.buttons.checkout", chat_id, CART, "buy", NONE, NONE)])
    return {"inline_keyboard": rows}


def summary_keyboard(chat_id: int, draft: str, lang: str, methods: Sequence[str] = ()) -> Keyboard:
    cancel = _b(lang, "shop.buttons.cancel", chat_id, QUOTE, "no", draft, NONE)
    paying = checkout_buttons(chat_id, lang, methods, QUOTE, draft)
    if paying:
        return {"inline_keyboard": [paying, [cancel]]}
    confirm = _b(lang, "shop.buttons.confirm", chat_id, QUOTE, "ok", draft, NONE)
    return {"inline_keyboard": [[confirm, cancel]]}


def suggestions_keyboard(chat_id: int, products: Sequence[Product], lang: str) -> Keyboard:
    rows = [[button(f"➕ {p.name(lang)[:40]}", chat_id, f"{MENU}:add:{p.sku}:1")] for p in products]
    rows.append(
        [
            _b(lang, "shop.buttons.menu", chat_id, MENU, "home", NONE, NONE),
            _b(lang, "shop.buttons.cart", chat_id, CART, "show", NONE, NONE),
        ]
    )
    return {"inline_keyboard": rows}
