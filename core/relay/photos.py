"""Photos attached to an order (a print or repair shop's originals): the records, the files
under MEDIA_DIR/pedidos/<order id>/, and what retention removes once the order is gone.

The bot records a photo's file id at once (so it can be shown on the order's card right
away, by file id); a worker then downloads the original through getFile into the order's
folder, so the shop keeps it for as long as the order is kept, not only Telegram's copy."""

from __future__ import annotations

import logging
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.db.engine import Database
from core.db.models import OrderEvent, OrderRow
from core.db.relay import OrderMessageRow, OrderPhotoRow
from core.orders.model import ORDER_ID, Order
from core.orders.notes import add_note
from core.orders.rows import to_order

log = logging.getLogger(__name__)

# The orders' folder inside MEDIA_DIR; each order's photos in a folder named by its id.
FOLDER = "pedidos"
# The name of a downloaded original: its record id, then Telegram's unique file id.
# Order ids asked about per query when pruning folders.
PRUNE_BATCH = 500
_SAFE = re.compile(r"[^A-Za-z0-9_-]")


@dataclass(frozen=True)
class OrderPhoto:
    id: int
    order_id: str
    file_id: str
    file_unique_id: str
    path: str
    size: int


def order_folder(media_dir: Path, order_id: str) -> Path:
    return media_dir / FOLDER / order_id


def file_name(photo: OrderPhoto) -> str:
    return f"{photo.id}-{_SAFE.sub('_', photo.file_unique_id or 'foto')}.jpg"


def erase_relayed(session: Session, order_ids: list[str]) -> None:
    """In the erasure's transaction: the texts and photos relayed through these orders and
    the photos attached to them (their files go at the next retention sweep, which keeps a
    folder only for an order that still has photos)."""
    erased = {"text": "—", "file_id": ""}
    session.execute(
        update(OrderMessageRow).where(OrderMessageRow.order_id.in_(order_ids)).values(**erased)
    )
    session.execute(
        update(OrderEvent)
        .where(OrderEvent.order_id.in_(order_ids), OrderEvent.note.like("mensaje de%"))
        .values(note="mensaje (borrado)")
    )
    session.execute(delete(OrderPhotoRow).where(OrderPhotoRow.order_id.in_(order_ids)))


def _photo(row: OrderPhotoRow) -> OrderPhoto:
    return OrderPhoto(row.id, row.order_id, row.file_id, row.file_unique_id, row.path, row.size)


class OrderPhotos:
    """The photos of orders in the system of record."""

    def __init__(self, db: Database, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self.clock = clock

    def open_order_of(self, chat_id: int, user_id: int) -> Order | None:
        """The customer's newest order in this chat that has not finished, if any."""
        with self.db.reading() as session:
            row = session.scalar(
                select(OrderRow)
                .where(
                    OrderRow.chat_id == chat_id,
                    OrderRow.user_id == user_id,
                    OrderRow.finished_at == 0,
                )
                .order_by(OrderRow.created_at.desc())
                .limit(1)
            )
            return to_order(row) if row is not None else None

    def attach(
        self, order_id: str, file_id: str, unique_id: str, source: str, actor: str
    ) -> tuple[OrderPhoto, bool]:
        """Attach a photo (with a history line); the same source twice returns the first
        record and False."""
        now = self.clock()
        row = OrderPhotoRow(
            order_id=order_id,
            file_id=file_id,
            file_unique_id=unique_id,
            path="",
            size=0,
            source=source,
            at=now,
        )
        try:
            with self.db.transaction() as session:
                session.add(row)
                session.flush()
                add_note(session, order_id, now, actor, "foto adjunta")
                return _photo(row), True
        except IntegrityError:
            with self.db.reading() as session:
                found = session.scalar(select(OrderPhotoRow).where(OrderPhotoRow.source == source))
                if found is None:
                    raise
                return _photo(found), False

    def get(self, photo_id: int) -> OrderPhoto | None:
        with self.db.reading() as session:
            row = session.get(OrderPhotoRow, photo_id)
            return _photo(row) if row is not None else None

    def of_order(self, order_id: str) -> list[OrderPhoto]:
        with self.db.reading() as session:
            rows = session.scalars(
                select(OrderPhotoRow)
                .where(OrderPhotoRow.order_id == order_id)
                .order_by(OrderPhotoRow.id)
            )
            return [_photo(row) for row in rows]

    def saved(self, photo_id: int, path: str, size: int) -> None:
        """Record where the original was kept (relative to MEDIA_DIR) and its size."""
        with self.db.transaction() as session:
            session.execute(
                update(OrderPhotoRow)
                .where(OrderPhotoRow.id == photo_id)
                .values(path=path, size=size)
                .execution_options(synchronize_session=False)
            )

    def prune_folders(self, media_dir: Path) -> int:
        """Delete the photo folders of orders that no longer exist (retention deleted them)
        or whose photos were erased; how many. Only folders named as order ids, directly in
        MEDIA_DIR/pedidos/."""
        root = media_dir / FOLDER
        if not root.is_dir():
            return 0
        names = [p.name for p in root.iterdir() if ORDER_ID.match(p.name) and p.is_dir()]
        if not names:
            return 0
        kept: set[str] = set()
        with self.db.reading() as session:
            for start in range(0, len(names), PRUNE_BATCH):
                batch = names[start : start + PRUNE_BATCH]
                # An order still stored with photos on record (erasure deletes the records).
                kept.update(
                    session.scalars(
                        select(OrderPhotoRow.order_id)
                        .where(OrderPhotoRow.order_id.in_(batch))
                        .distinct()
                    )
                )
        removed = 0
        for name in names:
            if name not in kept:
                shutil.rmtree(root / name, ignore_errors=True)
                removed += 1
        return removed
