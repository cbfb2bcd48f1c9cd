"""The shop's delivery zones (DELIVERY_ZONES): which addresses it delivers to and for what fee,
as the shipping options of a flexible invoice.

`Centro: 28001-28015, 28020 = 300; Madrid: madrid, getafe = 450` — zones separated by `;`,
each `name: places = fee`, places being postcodes, postcode ranges or city names (compared
without case or accents), the fee in minor units of SHOP_CURRENCY. An address gets one
option per zone it is in; an address in none is not delivered to.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

_ZONE = re.compile(r"^\s*([^:=]+?)\s*:\s*([^=]+?)\s*=\s*(\d+)\s*$")
_RANGE = re.compile(r"^(\d+)\s*-\s*(\d+)$")


def _fold(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text.strip().casefold())
    return "".join(c for c in plain if not unicodedata.combining(c))


@dataclass(frozen=True)
class Zone:
    name: str
    fee: int
    postcodes: tuple[tuple[int, int], ...] = ()
    cities: tuple[str, ...] = ()

    def covers(self, post_code: str, city: str) -> bool:
        code = post_code.strip()
        if code.isdigit() and any(low <= int(code) <= high for low, high in self.postcodes):
            return True
        return bool(city) and _fold(city) in self.cities


def parse_zones(text: str) -> tuple[Zone, ...]:
    """The zones of a DELIVERY_ZONES value (ValueError saying which part is wrong)."""
    zones = []
    for part in text.split(";"):
        if not part.strip():
            continue
        match = _ZONE.match(part)
        if not match:
            raise ValueError(f"not a delivery zone: {part.strip()!r} (use name: 28001-28015 = 300)")
        name, places, fee = match.groups()
        postcodes, cities = [], []
        for place in (p.strip() for p in places.split(",")):
            ranged = _RANGE.match(place)
            if ranged:
                postcodes.append((int(ranged.group(1)), int(ranged.group(2))))
            elif place.isdigit():
                postcodes.append((int(place), int(place)))
            elif place:
                cities.append(_fold(place))
        zones.append(Zone(name, int(fee), tuple(postcodes), tuple(cities)))
    return tuple(zones)


def option_id(index: int) -> str:
    return f"zona-{index + 1}"


def options_for(zones: Sequence[Zone], post_code: str, city: str) -> list[tuple[str, Zone]]:
    """The shipping options (id, zone) for an address: one per zone that covers it."""
    return [(option_id(i), z) for i, z in enumerate(zones) if z.covers(post_code, city)]


def fee_of(zones: Sequence[Zone], chosen: str, post_code: str, city: str) -> int | None:
    """The fee of the chosen option for this address; None when it is not one of its options."""
    for found, zone in options_for(zones, post_code, city):
        if found == chosen:
            return zone.fee
    return None
