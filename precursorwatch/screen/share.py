"""`pwatch screen --share-with`: send each shipment screened at or above a level to the
exchange as an alert (`POST /v1/alerts`), with its manifest row and its screening result.

Each alert carries a reference derived from the manifest's bytes, the row and the shipment id,
and the exchange answers a reference it has seen with the alert already sent: running the same
screening again sends nothing twice, and a run cut short is finished by running it again.
A shipment that cannot be sent is reported and the others still go.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from precursorwatch.screen.model import ShipmentResult

LEVELS = {"none": 0, "low": 1, "medium": 2, "high": 3}
_CODE_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")


class ShareError(Exception):
    """An option or file that makes sharing impossible, said in one line."""


@dataclass(frozen=True)
class ShareTarget:
    """Where and with whom flagged shipments are shared."""

    authorities: tuple[str, ...]
    exchange: str
    api_key: str
    min_level: str = "high"
    reason: str | None = None


@dataclass(frozen=True)
class Flagged:
    """A shipment to share: its reference, manifest row (canonical columns) and result."""

    reference: str
    shipment: dict[str, str]
    screening: dict[str, Any]


@dataclass
class ShareReport:
    sent: list[tuple[str, str]] = field(default_factory=list)  # (shipment id, alert id)
    already: list[tuple[str, str]] = field(default_factory=list)  # sent by an earlier run
    failed: list[tuple[str, str]] = field(default_factory=list)  # (shipment id, why)


def authority_codes(values: Iterable[str]) -> tuple[str, ...]:
    """`--share-with MX,US` (repeatable) as codes, each once; ShareError naming a bad one."""
    codes: list[str] = []
    for value in values:
        for part in value.split(","):
            code = part.strip().upper()
            if not code:
                continue
            if not (2 <= len(code) <= 16 and set(code) <= _CODE_CHARS and code[0].isalpha()):
                raise ShareError(f"--share-with: {part.strip()!r} is not an authority code "
                                 "(e.g. MX; see GET /v1/authorities)")
            if code not in codes:
                codes.append(code)
    if not codes:
        raise ShareError("--share-with: name at least one authority, e.g. --share-with MX,US")
    return tuple(codes)


def share_target(share_with: Sequence[str], exchange: str | None, key_file: str | None,
                 min_level: str = "high", reason: str | None = None) -> ShareTarget:
    """The sharing options checked before any screening, so a mistake costs no long run."""
    codes = authority_codes(share_with)
    if not exchange:
        raise ShareError("--share-with needs --exchange URL (the exchange to send alerts to)")
    if not key_file:
        raise ShareError("--share-with needs --key-file (the file holding your authority's "
                         "API key)")
    try:
        key = Path(key_file).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ShareError(f"--key-file: cannot read {key_file}: "
                         f"{getattr(exc, 'strerror', None) or exc}") from exc
    if not key:
        raise ShareError(f"--key-file: {key_file} is empty")
    if reason is not None and not reason.strip():
        raise ShareError("--reason: give some text, or leave the option out")
    return ShareTarget(codes, exchange.rstrip("/"), key, min_level, reason)


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def reference(digest: str, row: int, shipment_id: str) -> str:
    """A stable reference of one shipment of one manifest (`screen:` + 40 hex digits)."""
    return "screen:" + hashlib.sha256(f"{digest}\n{row}\n{shipment_id}".encode()
                                      ).hexdigest()[:40]


def to_share(results: Iterable[ShipmentResult], min_level: str) -> list[ShipmentResult]:
    floor = max(LEVELS[min_level], 1)  # a shipment with no concern is never an alert
    return [r for r in results if LEVELS.get(r.level, 0) >= floor]


def flagged_shipments(path: Path, column_map: Mapping[str, str],
                      results: Iterable[ShipmentResult], min_level: str) -> list[Flagged]:
    """The shipments at or above `min_level`, each with its manifest row read again from
    `path` (blank cells left out) and its reference."""
    from precursorwatch.screen.readers import open_manifest

    chosen = to_share(results, min_level)
    if not chosen:
        return []
    wanted = {r.row for r in chosen}
    rows: dict[int, dict[str, str]] = {}
    for row, raw in open_manifest(path, dict(column_map)).rows:
        if row in wanted and isinstance(raw, dict):
            rows[row] = {k: v.strip() for k, v in raw.items() if isinstance(v, str)
                         and v.strip()}
    digest = file_digest(path)
    out = []
    for r in chosen:
        shipment = rows.get(r.row, {})
        shipment["shipment_id"] = r.shipment_id
        shipment.setdefault("description", r.description)
        out.append(Flagged(reference(digest, r.row, r.shipment_id), shipment, r.to_dict()))
    return out


def default_reason(screening: Mapping[str, Any]) -> str:
    codes = ", ".join(dict.fromkeys(f["code"] for f in screening.get("flags", []))) or "none"
    return (f"Screened {screening.get('level')} risk ({screening.get('risk')}/100) by "
            f"pwatch screen; red flags: {codes}.")


def _error(response: Any) -> str:
    try:
        error = response.json()["error"]
        return f"{response.status_code} {error['code']}: {error['message']}"
    except (ValueError, KeyError, TypeError):
        return f"{response.status_code}: {response.text[:200]}"


def send_alerts(flagged: Sequence[Flagged], target: ShareTarget, *, transport: Any = None,
                timeout: float = 30.0) -> ShareReport:
    """Send each flagged shipment as an alert; a failure is noted and the next one goes."""
    import httpx

    report = ShareReport()
    headers = {"Authorization": f"Bearer {target.api_key}"}
    with httpx.Client(headers=headers, timeout=timeout, transport=transport) as client:
        for f in flagged:
            body = {"shipment": f.shipment, "screening": f.screening,
                    "reason": target.reason or default_reason(f.screening),
                    "share_with": list(target.authorities), "reference": f.reference}
            sid = f.shipment["shipment_id"]
            try:
                r = client.post(f"{target.exchange}/v1/alerts", json=body)
            except httpx.HTTPError as exc:
                report.failed.append((sid, f"cannot reach {target.exchange}: {exc}"))
                continue
            if r.status_code == 201:
                report.sent.append((sid, r.json()["id"]))
            elif r.status_code == 200:
                report.already.append((sid, r.json()["id"]))
            else:
                report.failed.append((sid, _error(r)))
    return report


def summary(report: ShareReport, target: ShareTarget) -> list[str]:
    """The lines `pwatch screen` prints about what was shared."""
    to = ", ".join(target.authorities)
    lines = [f"alerts: {len(report.sent)} sent to {to}, {len(report.already)} already sent "
             f"before, {len(report.failed)} not sent (shipments at {target.min_level} or "
             "above)"]
    lines += [f"alert {alert_id} shipment {sid}" for sid, alert_id in report.sent]
    lines += [f"alert {alert_id} shipment {sid} (already sent)"
              for sid, alert_id in report.already]
    lines += [f"not sent: shipment {sid}: {why}" for sid, why in report.failed]
    return lines
