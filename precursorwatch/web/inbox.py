"""The inbox: notifications to answer (by reply deadline), sent ones with their status, and
those the authority watches in transit; filters, search and pages.

Reads are pages of `exchange.notifications.list_notifications` (a statement each, never one
per row). The filters the service does not take (substance, country, dates, text) are applied
here to the records it served.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from precursorwatch.exchange.notifications import Direction, list_notifications
from precursorwatch.exchange.scope import Caller
from precursorwatch.exchange.service import Exchange
from precursorwatch.web.deps import ExchangeDep, UserDep, record
from precursorwatch.web.i18n import N_
from precursorwatch.web.render import page

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
FETCH = 100  # records per statement while a filtered section is read
NEAR_DUE = dt.timedelta(days=2)
RECENTLY_OVERDUE = dt.timedelta(days=30)
STATUSES = ("sent", "no_objection", "objection", "expired", "superseded")
SECTIONS: tuple[Direction, ...] = ("incoming", "outgoing", "transit")
BAD_DATE = N_("Give a date as YYYY-MM-DD.")
DATES_REVERSED = N_("The first date is after the second.")


@dataclass(frozen=True)
class InboxQuery:
    """What the person filters by; empty strings filter nothing."""

    status: str | None = None
    substance: str = ""
    country: str = ""
    since: dt.date | None = None
    until: dt.date | None = None
    text: str = ""

    def narrows(self) -> bool:
        """True when a filter the service does not take is set."""
        return bool(self.substance or self.country or self.since or self.until or self.text)


def _folded(value: Any) -> str:
    return str(value or "").casefold()


def _parties(n: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in (n.get("exporter"), n.get("importer"), n.get("consignee")) if p]


def matches(n: dict[str, Any], q: InboxQuery) -> bool:
    """Whether a served notification passes the filters (all of them)."""
    if q.substance:
        wanted = q.substance.casefold()
        verdict = n.get("verdict") or {}
        if not any(wanted in _folded(v) for v in (n.get("substance"), verdict.get("name"),
                                                  verdict.get("cas"), verdict.get("inchikey"))):
            return False
    if q.country:
        code = q.country.upper()
        countries = {p.get("country") for p in _parties(n)} | set(n.get("transit_countries")
                                                                  or ())
        if code not in countries:
            return False
    created = str(n.get("created_at", ""))[:10]
    if q.since is not None and created < q.since.isoformat():
        return False
    if q.until is not None and created > q.until.isoformat():
        return False
    if q.text:
        wanted = q.text.casefold()
        verdict = n.get("verdict") or {}
        texts = [n.get("substance"), verdict.get("name"), verdict.get("cas"),
                 *(p.get("name") for p in _parties(n))]
        if not any(wanted in _folded(t) for t in texts):
            return False
    return True


def may_match(text: str, q: InboxQuery) -> bool:
    """False when a served record's text cannot pass the filters: most records of a filtered
    inbox are passed over without being decoded."""
    folded = text.casefold()
    for wanted in (q.substance, q.text):
        if wanted and '"' not in wanted and "\\" not in wanted \
                and wanted.casefold() not in folded:
            return False
    return not q.country or f'"{q.country.casefold()}"' in folded


def deadline(n: dict[str, Any]) -> dt.datetime:
    return dt.datetime.fromisoformat(str(n["reply_deadline"]).replace("Z", "+00:00"))


def due(n: dict[str, Any], now: dt.datetime) -> str | None:
    """`overdue` for an incoming notification left unanswered past its deadline, `soon` for
    one awaiting an answer due within two days, else None."""
    if n.get("status") == "expired":
        return "overdue"
    if n.get("status") == "sent" and deadline(n) - now <= NEAR_DUE:
        return "soon"
    return None


@dataclass
class Section:
    key: Direction
    rows: list[dict[str, Any]] = field(default_factory=list)
    page: int = 1
    has_next: bool = False
    total: int | None = None  # known when the whole section was read


def _pages(ex: Exchange, caller: Caller, direction: Direction, status: str | None, *,
           by_deadline: bool = False) -> Iterator[str]:
    """A section's notifications as served, read `FETCH` at a time as they are consumed."""
    offset = 0
    while True:
        batch = list_notifications(ex, caller, direction=direction,
                                           status=status,  # type: ignore[arg-type]
                                           by_deadline=by_deadline, limit=FETCH,
                                           offset=offset)
        yield from batch
        if len(batch) < FETCH:
            return
        offset += FETCH


def _overdue(ex: Exchange, caller: Caller, now: dt.datetime) -> list[str]:
    """Incoming notifications left unanswered past their deadline in the last 30 days (the
    newest page of them), soonest deadline first, as served."""
    recent = list_notifications(ex, caller, direction="incoming", status="expired",
                                        limit=PAGE_SIZE)
    dated = sorted(((deadline(record(t)), t) for t in recent), key=lambda d: d[0])
    return [t for when, t in dated if now - when <= RECENTLY_OVERDUE]


def filtered_page(texts: Iterable[str], q: InboxQuery, start: int
                  ) -> tuple[list[dict[str, Any]], bool]:
    """The page from `start` of the records passing the filters, and whether more follow;
    records are decoded (and read) only until the page is full."""
    found: list[dict[str, Any]] = []
    for text in texts:
        if not may_match(text, q):
            continue
        n = record(text)
        if matches(n, q):
            found.append(n)
            if len(found) > start + PAGE_SIZE:
                break
    return found[start:start + PAGE_SIZE], len(found) > start + PAGE_SIZE


def section(ex: Exchange, caller: Caller, key: Direction, q: InboxQuery, number: int,
            now: dt.datetime) -> Section:
    """One page of one section: a page of the service's list where no filter of ours
    applies, else the records that pass the filters, read until the page is full."""
    start = (number - 1) * PAGE_SIZE
    awaiting = key == "incoming" and q.status is None
    if q.narrows():
        texts: Iterable[str] = (
            itertools.chain(_overdue(ex, caller, now),
                            _pages(ex, caller, key, "sent", by_deadline=True))
            if awaiting else _pages(ex, caller, key, q.status,
                                    by_deadline=q.status == "sent"))
        rows, more = filtered_page(texts, q, start)
        return Section(key, rows, number, more)
    # The recently overdue head the first page; then what awaits an answer, by deadline.
    head = [record(t) for t in _overdue(ex, caller, now)] if awaiting and number == 1 else []
    batch = list_notifications(ex, caller, direction=key,
                                       status="sent" if awaiting else q.status,  # type: ignore[arg-type]
                                       limit=PAGE_SIZE + 1, offset=start,
                                       by_deadline=awaiting or q.status == "sent")
    rows = [record(t) for t in batch]
    return Section(key, head + rows[:PAGE_SIZE], number, len(rows) > PAGE_SIZE)


def _date(text: str) -> tuple[dt.date | None, str | None]:
    if not text.strip():
        return None, None
    try:
        return dt.date.fromisoformat(text.strip()), None
    except ValueError:
        return None, BAD_DATE


def read_query(params: dict[str, str]) -> tuple[InboxQuery, dict[str, str]]:
    """The filters from the address, and a message per field that could not be read."""
    errors: dict[str, str] = {}
    since, problem = _date(params.get("since", ""))
    if problem:
        errors["since"] = problem
    until, problem = _date(params.get("until", ""))
    if problem:
        errors["until"] = problem
    if since and until and since > until:
        errors["until"] = DATES_REVERSED
    status = params.get("status") or None
    country = params.get("country", "").strip().upper()
    return InboxQuery(status=status if status in STATUSES else None,
                      substance=params.get("substance", "").strip()[:200],
                      country=country if len(country) == 2 and country.isalpha() else "",
                      since=since, until=until, text=params.get("q", "").strip()[:200]), errors


def page_link(params: dict[str, str], **changes: Any) -> str:
    kept = {k: v for k, v in params.items() if v and k != "lang"}
    kept.update({k: str(v) for k, v in changes.items()})
    return "/inbox?" + urlencode(kept)


def _page_number(params: dict[str, str], name: str) -> int:
    value = params.get(name, "1")
    return max(1, min(int(value), 100_000)) if value.isdigit() else 1


PAGE_PARAMS: dict[Direction, str] = {"incoming": "page_in", "outgoing": "page_out",
                                     "transit": "page_tr"}


@router.get("/")
def home() -> Response:
    return RedirectResponse("/inbox", status_code=303)


@router.get("/inbox")
def inbox(request: Request, user: UserDep, ex: ExchangeDep) -> Response:
    params = dict(request.query_params)
    q, errors = read_query(params)
    now = ex.now()
    sections = [section(ex, user.caller, key, q, _page_number(params, PAGE_PARAMS[key]), now)
                for key in SECTIONS]
    dues: dict[str, str | None] = {n["id"]: due(n, now) for s in sections for n in s.rows}
    link: Callable[..., str] = lambda **changes: page_link(params, **changes)  # noqa: E731
    return page(request, "inbox.html", {
        "section": "inbox", "sections": sections, "query": q, "params": params,
        "errors": errors, "dues": dues, "statuses": STATUSES, "link": link,
        "page_params": PAGE_PARAMS, "page_size": PAGE_SIZE,
    }, user=user)
