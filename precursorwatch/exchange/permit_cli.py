"""`pwatch permit verify`: check an import permit offline, with no server and no database,
against a file of authorities' public keys (saved from `GET /v1/authorities`)."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from precursorwatch.exchange.permits import KeyRing, Verification

permit_app = typer.Typer(name="permit", help="Import permits: verify one offline.",
                         no_args_is_help=True)

_err = Console(stderr=True, highlight=False, soft_wrap=True)

REASON_TITLES = {
    "malformed": "malformed", "unknown_issuer": "unknown issuer", "unknown_key": "unknown key",
    "bad_signature": "bad signature", "not_yet_valid": "not yet valid", "expired": "expired",
}
REVOCATION_NOTE = ("Revocation is not checked offline: only the exchange knows whether the "
                   "issuer revoked the permit. Check online with POST /v1/permits/verify.")


def _usage(message: str) -> NoReturn:
    _err.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(2)


def _read(source: str, what: str) -> str:
    try:
        raw = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    except OSError as exc:
        _usage(f"{what} {source}: {exc.strerror or exc}")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if what == "--keys":
            _usage(f"--keys {source}: not UTF-8 text (byte {exc.start})")
        return "\ufffd"  # a permit that is not text: reported as malformed below


def _keys(source: str) -> KeyRing:
    from precursorwatch.exchange.permits import key_ring

    text = _read(source, "--keys")
    try:
        return key_ring(json.loads(text))
    except json.JSONDecodeError as exc:
        _usage(f"--keys {source}: not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
               "save GET /v1/authorities to a file")
    except ValueError as exc:
        _usage(f"--keys {source}: {exc}")


def _party(party: Any) -> str:
    if not isinstance(party, dict):
        return "-"
    where = ", ".join(str(party[k]) for k in ("address", "country") if party.get(k))
    return f"{party.get('name', '?')}" + (f" ({where})" if where else "")


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, int | float) else str(value or "?")


def describe(found: Verification, names: dict[str, str]) -> list[str]:
    """The lines a person reads: who issued the permit, for what, and whether it is valid on
    the day checked, with each reason it is not."""
    lines: list[str] = []
    doc = found.permit
    if doc is not None:
        issuer = found.issuer or "?"
        given = doc.get("checked")
        checked: dict[str, Any] = given if isinstance(given, dict) else {}
        identity = ", ".join(str(v) for v in (checked.get("name"), checked.get("inchikey"),
                                              checked.get("cas") and f"CAS {checked['cas']}")
                             if v)
        lines += [
            f"Permit {doc.get('permit_number', '?')} (id {doc.get('id', '?')})",
            f"  issued by   {issuer} ({names.get(issuer, 'not in the keys file')}) with key "
            f"{found.key_id or '?'}, on {doc.get('issued_at', '?')}",
            f"  substance   {doc.get('substance', '?')}"
            + (f" [checked: {checked.get('verdict')}; {identity}]" if checked else ""),
            f"  quantity    {_number(doc.get('quantity'))} {doc.get('unit', '')}".rstrip(),
            f"  importer    {_party(doc.get('importer'))}",
            f"  exporter    from {doc.get('exporter_country', '?')}"
            + (f": {_party(doc['exporter'])}" if doc.get("exporter") else ""),
            f"  valid       {doc.get('valid_from', '?')} to {doc.get('valid_until', '?')}",
        ]
    on = found.checked_on.isoformat()
    if found.valid:
        lines.append(f"VALID on {on}: the signature verifies with {found.issuer}'s key "
                     f"{found.key_id} and the permit is within its validity dates.")
    else:
        lines.append(f"NOT VALID on {on}:")
        lines += [f"  - {REASON_TITLES.get(r.code, r.code)}: {r.message}" for r in found.reasons]
    lines.append(REVOCATION_NOTE)
    return lines


@permit_app.command("verify")
def verify_command(
    source: Annotated[str, typer.Argument(
        metavar="FILE|-", help="The permit: its JSON (as the exchange serves it) or its compact "
                               "form (PWP1.…); - reads standard input.")],
    keys: Annotated[str, typer.Option(
        "--keys", metavar="AUTHORITIES.json",
        help="The authorities' public keys, as GET /v1/authorities returns them.")],
    on: Annotated[str | None, typer.Option(
        "--on", metavar="YYYY-MM-DD", help="Check validity on this date (default today, "
                                            "UTC).", show_default=False)] = None,
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print the verification as JSON (as POST /v1/permits/verify answers, "
                       "with `revoked` null: not checked offline).")] = False,
) -> None:
    """Verify an import permit offline: the issuer's signature (by the key id the permit
    names) and its validity dates. Exit 0 valid, 1 not valid, 2 usage error. Revocation needs
    the online check."""
    from precursorwatch.exchange.permits import (
        MalformedPermit,
        malformed,
        read_permit,
        verify_permit,
    )

    day = dt.datetime.now(dt.UTC).date()
    if on is not None:
        try:
            day = dt.date.fromisoformat(on.strip())
        except ValueError:
            _usage(f"--on: {on!r} is not a date in YYYY-MM-DD form (e.g. 2026-12-01)")
    ring = _keys(keys)
    text = _read(source, "permit file")
    try:
        found = verify_permit(read_permit(text), ring, day)
    except MalformedPermit as exc:
        found = malformed(str(exc), day)
    if as_json:
        print(json.dumps(found.to_dict(), ensure_ascii=False, indent=2))
    else:
        out = Console(highlight=False, soft_wrap=True)
        for line in describe(found, dict(ring.names)):
            out.print(line, markup=False)
    raise typer.Exit(0 if found.valid else 1)
