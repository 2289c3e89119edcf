"""The dashboard: notifications per month by status, substance and country; objections and
notifications left to expire. Counted from the records the authority is party to."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from precursorwatch.exchange.notifications import notification_facts
from precursorwatch.web.charts import hbars, stacked_months
from precursorwatch.web.deps import ExchangeDep, UserDep
from precursorwatch.web.i18n import N_, formatters, gettext
from precursorwatch.web.inbox import STATUSES
from precursorwatch.web.render import language_for, page

router = APIRouter(include_in_schema=False)

TOP = 10
TABLE_ROWS = 8
MONTHS = 12
STATUS_LABELS = {"sent": N_("Awaiting answer"), "no_objection": N_("No objection"),
                 "objection": N_("Objection"), "expired": N_("Expired"),
                 "superseded": N_("Superseded")}
BY_MONTH = N_("Notifications per month by status")
BY_SUBSTANCE = N_("Notifications by substance")
BY_COUNTRY = N_("Notifications by partner country")


@dataclass
class Counts:
    """What the dashboard shows, counted from served notifications."""

    total: int = 0
    by_month: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    by_substance: Counter[str] = field(default_factory=Counter)
    by_country: Counter[str] = field(default_factory=Counter)
    by_status: Counter[str] = field(default_factory=Counter)
    # (month, substance) and (month, country) counts, for the tables over time
    month_substance: Counter[tuple[str, str]] = field(default_factory=Counter)
    month_country: Counter[tuple[str, str]] = field(default_factory=Counter)
    objections: list[dict[str, Any]] = field(default_factory=list)
    expired_incoming: int = 0


def count(notifications: Sequence[dict[str, Any]], authority: str) -> Counts:
    """Counts per month (of sending), substance (as identified, else as given), partner
    country (the importer's for notifications sent, the exporter's otherwise) and status,
    from `notification_facts`."""
    out = Counts()
    for n in notifications:
        if n.get("status") == "superseded":
            continue  # a corrected version is counted once, as its newest version
        out.total += 1
        status = str(n.get("status"))
        month = str(n["created_at"])[:7]
        out.by_month[month][status] += 1
        substance = str(n.get("name") or n.get("substance"))
        out.by_substance[substance] += 1
        out.month_substance[month, substance] += 1
        country = str((n.get("importer_country") if n.get("exporting_authority") == authority
                       else n.get("exporter_country")) or "?")
        out.by_country[country] += 1
        out.month_country[month, country] += 1
        out.by_status[status] += 1
        if status == "objection":
            out.objections.append(n)
        if status == "expired" and n.get("importing_authority") == authority:
            out.expired_incoming += 1
    return out


@router.get("/dashboard")
def dashboard(request: Request, user: UserDep, ex: ExchangeDep) -> Response:
    lang = language_for(request, user)
    counts = count(notification_facts(ex, user.caller), user.caller.code)
    months = sorted(counts.by_month)[-MONTHS:]
    month_label = formatters(lang)["month"]
    status_labels = {s: gettext(lang, label) for s, label in STATUS_LABELS.items()}
    return page(request, "dashboard.html", {
        "section": "dashboard", "counts": counts, "statuses": STATUSES,
        "status_labels": status_labels,
        "month_chart": stacked_months(months, {m: month_label(m) for m in months},
                                      counts.by_month, STATUSES, status_labels,
                                      gettext(lang, BY_MONTH)),
        "substance_chart": hbars(counts.by_substance.most_common(TOP),
                                 gettext(lang, BY_SUBSTANCE)),
        "country_chart": hbars(counts.by_country.most_common(TOP),
                               gettext(lang, BY_COUNTRY)),
        "months": months, "month_labels": {m: month_label(m) for m in months},
        "top_substances": [k for k, _ in counts.by_substance.most_common(TABLE_ROWS)],
        "top_countries": [k for k, _ in counts.by_country.most_common(TABLE_ROWS)],
        "objections": sorted(counts.objections, key=lambda n: n["created_at"],
                             reverse=True)[:20],
    }, user=user, language=lang)


