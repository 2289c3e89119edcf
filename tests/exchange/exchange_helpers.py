"""Request bodies and a hand-moved clock shared by the exchange tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

START = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)


class Clock:
    """A clock the test moves by hand, to reach deadlines without waiting."""

    def __init__(self, now: dt.datetime = START) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


def notification(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "substance": "4-piperidone hydrochloride monohydrate",
        "quantity": 25,
        "unit": "kg",
        "exporter": {"name": "Hubei Example Chemical Co.", "address": "12 Example Rd, Wuhan",
                     "country": "CN"},
        "importer": {"name": "Quimica Ejemplo SA", "address": "Av. Ejemplo 1, Guadalajara",
                     "country": "MX"},
        "consignee": {"name": "Quimica Ejemplo SA", "address": "Av. Ejemplo 1, Guadalajara",
                      "country": "MX"},
        "importing_authority": "MX",
        "transit_authorities": ["US"],
        "transit_countries": ["US"],
        "planned_shipment_date": "2026-12-01",
        "point_of_entry": "Manzanillo",
    }
    body.update(changes)
    return body


def incident(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "seizure", "substance": "1-boc-4-AP", "quantity": 400, "unit": "kg",
        "incident_date": "2026-11-02",
        "parties": [{"role": "consignee", "name": "Ejemplo Importaciones",
                     "address": "Calle 5, Culiacan", "country": "MX"}],
        "route": ["CN", "US", "MX"], "modus_operandi": "declared as 'chemical reagent'",
        "notes": "paid in cryptocurrency", "shared_with": ["US"], "notification_ids": [],
    }
    body.update(changes)
    return body
