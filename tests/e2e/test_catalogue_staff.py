"""The staff side of the catalogue end to end: a catalogue CSV sent as a document is previewed
and applied (or refused whole, with line numbers), /catalogo sends it back, and /precio,
/stock and /agotado edit it; customers are refused. The bot starts with a CATALOG_FILE that
does not read: one log line, and it answers all the same."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.catalogue.csvfile import parse_catalogue
from core.catalogue.store import CatalogueStore
from sandbox import RunningSandbox
from sandbox.client import Chat, Message
from tests.support.system import System, running_system

ADMIN = 9_411
GROUP = -100_941_100  # an admin group: the admin and members who are not staff
DEMO = Path(__file__).resolve().parents[2] / "demo" / "catalogue.csv"
HEADER = "sku,name_es,name_en,price,currency,category,stock,fulfilment"


@pytest.fixture(scope="module")
def system(
    tmp_path_factory: pytest.TempPathFactory, sandbox_server: RunningSandbox
) -> Iterator[System]:
    tmp = tmp_path_factory.mktemp("catalogue")
    bad = tmp / "bad.csv"
    bad.write_text(f"{HEADER}\nPZ-MARG,Pizza,Pizza,12.5.0,EUR,Pizzas,,manual\n")
    with running_system(
        tmp, sandbox_server.url, sandbox_server.token, ADMIN_CHAT_IDS=f"{ADMIN},{GROUP}"
    ) as running:
        with running.starting():
            running.start_worker(queues="telegram,imports")
            running.start_bot(CATALOG_FILE=str(bad))
        yield running


@pytest.fixture(scope="module")
def admin(system: System) -> Chat:
    return system.sandbox.private_chat(user_id=ADMIN, first_name="Ana")


@pytest.fixture(scope="module")
def catalogue(system: System) -> CatalogueStore:
    return CatalogueStore(system.db)


def send_csv(chat: Chat, body: str, name: str) -> Message:
    return chat.send_document(body.encode(), mime_type="text/csv", file_name=name)


def answer_to(chat: Chat, sent: Message, timeout: float = 20) -> Message:
    return chat.wait_for(lambda m: m.reply_to_message_id == sent.message_id, timeout=timeout)


def test_a_bad_catalog_file_is_one_log_line_and_the_bot_still_starts(
    system: System, admin: Chat, catalogue: CatalogueStore
) -> None:
    bot_log = system.processes[-1].log()
    refused = [line for line in bot_log.splitlines() if "catalogue not loaded from" in line]
    assert len(refused) == 1, bot_log
    assert "line 2 price: bad_price" in refused[0]
    assert catalogue.count() == 0
    admin.send("/ayuda")
    admin.wait_for(lambda m: "/pedido" in (m.text or ""))


def test_a_catalogue_is_previewed_then_applied(
    system: System, admin: Chat, catalogue: CatalogueStore
) -> None:
    sent = admin.send_document(DEMO, mime_type="text/csv", file_name="carta.csv")
    preview = answer_to(admin, sent)
    text = preview.text or ""
    assert "Vista previa de carta.csv: 15 productos" in text, text
    assert "• 15 nuevos" in text and "• 0 cambian" in text and "• 0 se retiran" in text
    assert preview.button_texts == ["Aplicar", "Cancelar"]
    assert catalogue.count() == 0  # nothing until Aplicar

    query = admin.press("Aplicar", message_id=preview.message_id)
    assert admin.callback_answer(query)["text"] == "Catálogo actualizado."
    done = admin.wait_for(
        lambda m: m.message_id == preview.message_id and "actualizado" in (m.text or "")
    )
    assert "15 productos (15 nuevos, 0 cambian, 0 retirados)" in (done.text or "")
    assert done.buttons == []
    assert catalogue.count() == 15
    margarita = catalogue.get("PZ-MARG")
    assert margarita is not None and margarita.price == 950
    assert margarita.name_en == "Margherita Pizza"

    # A new version: one price changed, one product gone, one added.
    rows = [
        row.replace("Margherita Pizza,9.50", "Margherita Pizza,9.90")
        for row in DEMO.read_text().splitlines()
        if not row.startswith("POS-CROI,")
    ]
    rows.append("POS-FLAN,Flan,Flan,3.00,EUR,Postres,,manual")
    sent = send_csv(admin, "\n".join(rows) + "\n", "carta2.csv")
    preview = answer_to(admin, sent)
    text = preview.text or ""
    assert "• 1 nuevos" in text and "• 1 cambian" in text and "• 1 se retiran" in text, text
    assert "• 13 sin cambios" in text
    query = admin.press("Cancelar", message_id=preview.message_id)
    assert "nada ha cambiado" in admin.callback_answer(query)["text"]
    admin.wait_for(lambda m: m.message_id == preview.message_id and "descartada" in (m.text or ""))
    assert catalogue.get("POS-FLAN") is None
    assert catalogue.get("PZ-MARG").price == 950  # type: ignore[union-attr]


def test_a_bad_catalogue_is_refused_whole_with_its_line_numbers(
    system: System, admin: Chat, catalogue: CatalogueStore
) -> None:
    before = catalogue.all()
    body = "\n".join(
        [
            HEADER,
            "AA-1,Uno,One,1.00,EUR,Cosas,,manual",
            "AA-2,Dos,Two,12.5.0,EUR,Cosas,,manual",  # line 3: a bad price
            "AA-3,Tres,Three,3.00,EUR,Cosas,,manual",
            "AA-1,Otra vez,Again,4.00,EUR,Cosas,,manual",  # line 5: the SKU of line 2
            "AA-6,Seis,Six,6.999,EUR,Cosas,,manual",  # line 6: three decimals in EUR
        ]
    )
    sent = send_csv(admin, body + "\n", "mala.csv")
    refusal = answer_to(admin, sent)
    text = refusal.text or ""
    assert "mala.csv no se puede importar: 3 errores. No ha cambiado nada." in text, text
    assert "• línea 3, price: precio no válido (usa punto decimal, p. ej. 12.50)" in text
    assert "• línea 5, sku: SKU repetido: ya está en la línea 2" in text
    assert "• línea 6, price: el precio tiene más decimales de los que admite la moneda (2)" in text
    assert refusal.buttons == []
    assert catalogue.all() == before

    # The wrong encoding and the size limit get their own sentences.
    latin = (HEADER + "\nAA-1,Café,Coffee,1.00,EUR,Cosas,,manual\n").encode("latin-1")
    sent = admin.send_document(latin, mime_type="text/csv", file_name="latin.csv")
    assert "no está en UTF-8" in (answer_to(admin, sent).text or "")
    rows = "".join(f"BB-{n},{'x' * 70},y,1.00,EUR,Cosas,,manual\n" for n in range(30_000))
    big = HEADER + "\n" + rows
    sent = send_csv(admin, big, "enorme.csv")
    assert "pasa del tamaño máximo (2.0 MB)" in (answer_to(admin, sent, timeout=40).text or "")
    assert catalogue.all() == before


def test_catalogo_sends_the_catalogue_back_as_the_same_csv(
    system: System, admin: Chat, catalogue: CatalogueStore
) -> None:
    sent = admin.send("/catalogo")
    reply = admin.wait_for(lambda m: bool(m.media) and m.message_id > sent.message_id, timeout=20)
    assert "productos" in (reply.caption or "")
    body = system.sandbox.download(reply.media[0].file_id)
    assert body.startswith("\ufeff".encode())  # UTF-8 with a BOM, as spreadsheets want it
    assert parse_catalogue(body, default_currency="EUR") == catalogue.all()
    header = next(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert ",".join(header[:8]) == HEADER


def test_quick_edits_change_the_product(
    system: System, admin: Chat, catalogue: CatalogueStore
) -> None:
    admin.send("/precio PZ-4QUE 12.50")
    admin.wait_for(lambda m: "precio 11,00\u00a0€ → 12,50\u00a0€" in (m.text or ""))
    assert catalogue.get("PZ-4QUE").price == 1250  # type: ignore[union-attr]

    admin.send("/stock pz-4que 7")
    admin.wait_for(lambda m: "stock ilimitado → 7" in (m.text or ""))
    assert catalogue.get("PZ-4QUE").stock == 7  # type: ignore[union-attr]

    admin.send("/agotado PZ-4QUE")
    admin.wait_for(lambda m: "está agotado (stock 7 → 0)" in (m.text or ""))
    product = catalogue.get("PZ-4QUE")
    assert product is not None and product.stock == 0 and product.sold_out

    admin.send("/stock PZ-4QUE ∞")
    admin.wait_for(lambda m: "stock 0 → ilimitado" in (m.text or ""))
    assert catalogue.get("PZ-4QUE").stock is None  # type: ignore[union-attr]


def test_quick_edits_refuse_unknown_skus_and_bad_amounts(
    system: System, admin: Chat, catalogue: CatalogueStore
) -> None:
    before = catalogue.all()
    admin.send("/precio NO-EXISTE 3.00")
    admin.wait_for(lambda m: "No hay ningún producto con SKU NO-EXISTE" in (m.text or ""))
    admin.send("/precio PZ-MARG 12.5.0")
    admin.wait_for(
        lambda m: "precio no válido" in (m.text or "") and "/precio SKU" in (m.text or "")
    )
    admin.send("/precio PZ-MARG 9.999")
    admin.wait_for(lambda m: "como mucho 2 decimales" in (m.text or ""))
    admin.send("/precio PZ-MARG -3")
    admin.wait_for(lambda m: "el precio es negativo" in (m.text or ""))
    admin.send("/stock PZ-MARG muchos")
    admin.wait_for(lambda m: "stock no válido" in (m.text or ""))
    admin.send("/agotado")
    admin.wait_for(lambda m: (m.text or "") == "Uso: /agotado SKU")
    assert catalogue.all() == before


def test_customers_are_refused(system: System, catalogue: CatalogueStore) -> None:
    before = catalogue.all()
    customer = system.private_chat()
    for command in ("/catalogo", "/precio PZ-MARG 0.10", "/stock PZ-MARG 0", "/agotado PZ-MARG"):
        sent = customer.send(command)
        customer.wait_for(
            lambda m, after=sent.message_id: (
                m.message_id > after and "solo para el equipo" in (m.text or "")
            )
        )
    sent = send_csv(customer, DEMO.read_text(), "carta.csv")
    # The importer's refusal, as for any CSV from a customer.
    customer.wait_for(
        lambda m: m.message_id > sent.message_id and "solo para el equipo" in (m.text or "")
    )
    assert not any(m.media for m in customer.bot_messages())
    assert catalogue.all() == before


def test_in_an_admin_group_only_staff_apply_and_only_once(
    system: System, catalogue: CatalogueStore
) -> None:
    group = system.sandbox.group_chat(GROUP, title="Equipo", user_id=ADMIN, first_name="Ana")
    member = group.as_user(user_id=9_412, first_name="Luis")
    before = catalogue.all()
    body = DEMO.read_text().replace("Pepperoni Pizza,10.50", "Pepperoni Pizza,10.90")
    sent = send_csv(group, body, "grupo.csv")
    preview = answer_to(group, sent)
    # (Earlier tests edited other products: the file puts them back, so they change too.)
    assert "• 0 nuevos" in (preview.text or "") and "• 0 se retiran" in (preview.text or "")

    # A member who is not staff: an alert, and nothing changes.
    pressed = member.press("Aplicar", message_id=preview.message_id)
    refusal = member.callback_answer(pressed)
    assert refusal["show_alert"] and "solo para el equipo" in refusal["text"]
    assert catalogue.all() == before

    # The admin taps twice: the catalogue is replaced once, the second tap is told so.
    taps = [group.press("Aplicar", message_id=preview.message_id) for _ in range(2)]
    answers = [group.callback_answer(tap) for tap in taps]
    assert answers[0]["text"] == "Catálogo actualizado."
    assert answers[1]["show_alert"] is True
    group.wait_for(lambda m: m.message_id == preview.message_id and "actualizado" in (m.text or ""))
    assert catalogue.get("PZ-PEPP").price == 1090  # type: ignore[union-attr]
    applied = [m for m in group.bot_messages() if "Catálogo actualizado con" in (m.text or "")]
    assert len(applied) == 1


def test_an_orders_csv_still_goes_to_the_importer(system: System, admin: Chat) -> None:
    sent = send_csv(admin, "chat_id,texto\n555,2 pizzas\n", "pedidos.csv")
    status = answer_to(admin, sent)
    assert "Importación" in (status.text or "") and "pedidos.csv" in (status.text or "")
