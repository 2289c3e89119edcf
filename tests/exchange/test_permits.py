"""Import permits: issued and signed by the importing authority, read only by the parties,
verified by anyone online and offline (`pwatch permit verify`), cited by notifications."""

from __future__ import annotations

import base64
import datetime as dt
import json
import zlib
from pathlib import Path
from typing import Any

import pytest
from exchange_helpers import START, Clock, notification
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import undefer_group
from typer.testing import CliRunner

from precursorwatch.cli import app as cli
from precursorwatch.exchange import permits
from precursorwatch.exchange.models import Authority, Permit
from precursorwatch.exchange.signing import canonical_json

TODAY = START.date()


def permit(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "permit_number": "COFEPRIS-2026-000123",
        "substance": "4-piperidone",
        "quantity": 30,
        "unit": "kg",
        "importer": {"name": "Quimica Ejemplo SA", "country": "MX",
                     "address": "Av. Ejemplo 1, Guadalajara"},
        "exporter_country": "CN",
        "exporter": {"name": "Hubei Example Chemical Co.", "country": "CN"},
        "valid_from": "2026-11-23",
        "valid_until": "2027-05-22",
    }
    body.update(changes)
    return body


def issue(client: TestClient, authorities: Any, code: str = "MX", **changes: Any
          ) -> dict[str, Any]:
    response = client.post("/v1/permits", json=permit(**changes),
                           headers=authorities.headers(code))
    assert response.status_code == 201, response.text
    issued: dict[str, Any] = response.json()
    return issued


def keys_file(client: TestClient, authorities: Any, tmp_path: Path, *, leave_out: str = ""
              ) -> Path:
    listed = client.get("/v1/authorities", headers=authorities.headers("CA")).json()
    path = tmp_path / "authorities.json"
    path.write_text(json.dumps([a for a in listed if a["code"] != leave_out]))
    return path


def offline(signed: dict[str, Any] | str, keys: Path, on: dt.date = TODAY
            ) -> permits.Verification:
    """What `pwatch permit verify` decides, as a value."""
    ring = permits.key_ring(json.loads(keys.read_text()))
    try:
        found = (permits.read_permit(signed) if isinstance(signed, str)
                 else permits.from_json(signed))
    except permits.MalformedPermit as exc:
        return permits.malformed(str(exc), on)
    return permits.verify_permit(found, ring, on)


def codes(found: permits.Verification | dict[str, Any]) -> list[str]:
    if isinstance(found, permits.Verification):
        return [r.code for r in found.reasons]
    return [r["code"] for r in found["reasons"]]


# -- issue and read ----------------------------------------------------------------------------
def test_issued_permit_is_signed_checked_and_compact(client: TestClient, authorities: Any
                                                     ) -> None:
    response = client.post("/v1/permits", json=permit(), headers=authorities.headers("MX"))
    assert response.status_code == 201, response.text
    assert response.headers["Audit-Receipt"].startswith("1:")
    issued = response.json()
    doc = issued["permit"]
    assert issued["issuer"] == doc["issuer"] == "MX"
    assert issued["key_id"] == doc["key_id"] == permits.key_id(
        authorities.by_code["MX"].public_key)
    assert doc["permit_number"] == "COFEPRIS-2026-000123" and doc["exporter_country"] == "CN"
    assert doc["checked"]["inchikey"] == "VRJHQPZVIGNGMX-UHFFFAOYSA-N"
    assert doc["checked"]["verdict"] == "controlled"
    assert issued["verdict"]["verdict"] == "controlled"
    assert issued["revoked"] is False and issued["revocation"] is None
    # The compact form carries the same permit and signature, and fits a QR code.
    compact = issued["compact"]
    assert compact.startswith("PWP1.") and len(compact) <= 1000, len(compact)
    carried = permits.decode_compact(compact)
    assert carried.document == doc and carried.signature_b64() == issued["signature"]
    # Served as written.
    again = client.get(f"/v1/permits/{issued['id']}", headers=authorities.headers("MX"))
    assert again.status_code == 200 and again.json() == issued


def test_only_the_issuer_and_the_exporter_country_read_a_permit(client: TestClient,
                                                                authorities: Any) -> None:
    issued = issue(client, authorities)
    url = f"/v1/permits/{issued['id']}"
    for code, status in [("MX", 200), ("CN", 200), ("US", 404), ("CA", 404)]:
        response = client.get(url, headers=authorities.headers(code))
        assert response.status_code == status, (code, response.text)
        listed = client.get("/v1/permits", headers=authorities.headers(code)).json()["items"]
        assert [p["id"] for p in listed] == ([issued["id"]] if status == 200 else []), code
    assert client.get(url).status_code == 401
    # The roles filter: the issuer's issued list, the exporter country's exporting list.
    mine = client.get("/v1/permits?role=issued", headers=authorities.headers("MX")).json()
    theirs = client.get("/v1/permits?role=issued", headers=authorities.headers("CN")).json()
    exporting = client.get("/v1/permits?role=exporting",
                           headers=authorities.headers("CN")).json()
    assert len(mine["items"]) == 1 and theirs["items"] == [] and len(exporting["items"]) == 1
    # Revocation: the issuer only; the exporter country may read but not revoke; the others
    # learn nothing.
    reason = {"reason": "licence suspended"}
    assert client.post(f"{url}/revoke", json=reason,
                       headers=authorities.headers("CN")).json()["error"]["code"] == "not_issuer"
    for code in ("US", "CA"):
        refused = client.post(f"{url}/revoke", json=reason, headers=authorities.headers(code))
        assert refused.status_code == 404, code
        assert refused.json() == {"error": {"code": "not_found", "message":
                                            f"no permit {issued['id']} for this authority"}}


def test_permit_numbers_are_unique_per_issuer(client: TestClient, authorities: Any) -> None:
    issue(client, authorities)
    again = client.post("/v1/permits", json=permit(quantity=5),
                        headers=authorities.headers("MX"))
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "duplicate_permit_number"
    assert "COFEPRIS-2026-000123" in again.json()["error"]["message"]
    # Another issuer may use the same number for its own permit.
    issue(client, authorities, "US", importer={"name": "Example Labs", "country": "US"})


@pytest.mark.parametrize(("changes", "expected"), [
    ({"importer": {"name": "Example Labs", "country": "US"}},
     "importer.country: US is not the country of the issuing authority MX"),
    ({"exporter_country": "MX"}, "exporter_country is the importer's country"),
    ({"valid_until": "2026-11-01", "valid_from": "2026-10-01"},
     "valid_until: 2026-11-01 is before today (2026-11-23)"),
    ({"valid_until": "2026-11-01"}, "valid_until is before valid_from"),
    ({"valid_from": "2028-01-01", "valid_until": "2028-06-01"},
     "valid_from: 2028-01-01 is more than a year after today"),
    ({"exporter": {"name": "X", "country": "IN"}}, "exporter.country differs"),
    ({"quantity": 2e8, "unit": "t"}, "is more than any shipment carries"),
    ({"substance": "zzqx-not-a-substance-name"}, "could not be identified"),
    ({"permit_number": "bad\nnumber"}, "body.permit_number"),
    ({"extra": 1}, "body.extra: unknown field"),
])
def test_bad_permits_are_refused_naming_the_field(client: TestClient, authorities: Any,
                                                  changes: dict[str, Any], expected: str
                                                  ) -> None:
    response = client.post("/v1/permits", json=permit(**changes),
                           headers=authorities.headers("MX"))
    assert response.status_code == 422, response.text
    assert expected in response.json()["error"]["message"]


# -- verification: offline and online ----------------------------------------------------------
def test_a_genuine_permit_verifies_offline_in_both_forms(client: TestClient, authorities: Any,
                                                         tmp_path: Path) -> None:
    issued = issue(client, authorities)
    keys = keys_file(client, authorities, tmp_path)
    for form in (issued, issued["compact"], json.dumps(issued)):
        found = offline(form, keys)
        assert found.valid, found.reasons
        assert found.issuer == "MX" and found.revoked is None
    online = client.post("/v1/permits/verify", json={"compact": issued["compact"]},
                         headers=authorities.headers("CA")).json()
    assert online["valid"] is True and online["revoked"] is False and online["reasons"] == []
    served = client.post("/v1/permits/verify", json=issued, headers=authorities.headers("US"))
    assert served.json()["valid"] is True


def _resigned(document: dict[str, Any], private_key_enc: str, app: FastAPI) -> dict[str, Any]:
    signature = app.state.exchange.vault.sign(private_key_enc, document)
    return {"permit": document, "signature": signature}


def test_forged_and_altered_permits_are_rejected(client: TestClient, authorities: Any,
                                                 app: FastAPI, tmp_path: Path) -> None:
    issued = issue(client, authorities)
    keys = keys_file(client, authorities, tmp_path)
    doc = issued["permit"]
    with app.state.exchange.sessions() as session:
        us_key = session.scalar(select(Authority.private_key_enc).where(Authority.code == "US"))
    assert us_key is not None
    packed, signature = issued["compact"][len("PWP1."):].split(".")
    payload = zlib.decompress(base64.urlsafe_b64decode(packed + "=" * (-len(packed) % 4)))
    bigger = payload.replace(b'"quantity":30', b'"quantity":300')
    assert bigger != payload
    cases: list[tuple[str, Any, str]] = [
        ("one field changed", {**issued, "permit": {**doc, "quantity": 300}}, "bad_signature"),
        ("importer changed", {**issued, "permit": {**doc, "importer": {
            **doc["importer"], "name": "Someone Else SA"}}}, "bad_signature"),
        ("signed with another authority's key", _resigned(doc, us_key, app), "bad_signature"),
        ("claims a key the issuer does not have",
         _resigned({**doc, "key_id": "0123456789abcdef"}, us_key, app), "unknown_key"),
        ("issuer nobody knows", {**issued, "permit": {**doc, "issuer": "ZZ"}, "issuer": "ZZ"},
         "unknown_issuer"),
        ("compact cut short", issued["compact"][:-30], "malformed"),
        ("compact payload cut short",
         f"PWP1.{packed[:len(packed) // 2]}.{signature}", "malformed"),
        ("compact with its quantity changed", "PWP1." + base64.urlsafe_b64encode(
            zlib.compress(bigger)).rstrip(b"=").decode() + "." + signature, "bad_signature"),
        ("not a permit", "hello", "malformed"),
        ("permit without signature", {"permit": doc}, "malformed"),
        ("envelope names another issuer", {**issued, "issuer": "US"}, "malformed"),
        ("a field missing", _resigned({k: v for k, v in doc.items() if k != "valid_until"},
                                      us_key, app), "malformed"),
    ]
    for label, presented, code in cases:
        found = offline(presented, keys)
        assert not found.valid and code in codes(found), (label, found.reasons)
        body = presented if isinstance(presented, dict) else {"compact": presented}
        online = client.post("/v1/permits/verify", json=body,
                             headers=authorities.headers("CA"))
        assert online.status_code == 200, (label, online.text)
        assert online.json()["valid"] is False and code in codes(online.json()), label
    # A keys file that does not list the issuer.
    without_mx = keys_file(client, authorities, tmp_path, leave_out="MX")
    assert codes(offline(issued, without_mx)) == ["unknown_issuer"]


def test_validity_dates(client: TestClient, authorities: Any, clock: Clock, tmp_path: Path
                        ) -> None:
    issued = issue(client, authorities, valid_from="2026-12-01", valid_until="2026-12-31")
    keys = keys_file(client, authorities, tmp_path)
    early = offline(issued, keys, TODAY)
    assert codes(early) == ["not_yet_valid"]
    assert early.reasons[0].message == ("the permit is valid from 2026-12-01; checked on "
                                        "2026-11-23")
    assert offline(issued, keys, dt.date(2026, 12, 1)).valid
    assert offline(issued, keys, dt.date(2026, 12, 31)).valid
    assert codes(offline(issued, keys, dt.date(2027, 1, 1))) == ["expired"]
    verify = {"compact": issued["compact"]}
    headers = authorities.headers("US")
    assert codes(client.post("/v1/permits/verify", json=verify, headers=headers).json()) == [
        "not_yet_valid"]
    clock.advance(days=10)
    assert client.post("/v1/permits/verify", json=verify, headers=headers).json()["valid"]
    clock.advance(days=40)
    late = client.post("/v1/permits/verify", json=verify, headers=headers).json()
    assert codes(late) == ["expired"] and late["checked_on"] == "2027-01-12"


def test_revoked_permit_fails_online_but_offline_cannot_know(
        client: TestClient, authorities: Any, app: FastAPI, tmp_path: Path) -> None:
    issued = issue(client, authorities)
    keys = keys_file(client, authorities, tmp_path)
    url = f"/v1/permits/{issued['id']}/revoke"
    revoked = client.post(url, json={"reason": "licence suspended"},
                          headers=authorities.headers("MX"))
    assert revoked.status_code == 200, revoked.text
    assert revoked.headers["Audit-Receipt"].startswith("2:")
    body = revoked.json()
    assert body["revoked"] is True
    assert body["revocation"]["reason"] == "licence suspended"
    assert body["revocation"]["by"] == "MX"
    again = client.post(url, json={"reason": "twice"}, headers=authorities.headers("MX"))
    assert again.status_code == 409 and again.json()["error"]["code"] == "permit_revoked"
    blank = client.post(url, json={"reason": "  "}, headers=authorities.headers("MX"))
    assert blank.status_code == 422
    read = client.get(f"/v1/permits/{issued['id']}", headers=authorities.headers("CN")).json()
    assert read["revoked"] is True and read["revocation"] == body["revocation"]
    online = client.post("/v1/permits/verify", json={"compact": issued["compact"]},
                         headers=authorities.headers("CA")).json()
    assert online["valid"] is False and online["revoked"] is True
    assert codes(online) == ["revoked"]
    assert "licence suspended" in online["reasons"][0]["message"]
    # Offline the signature and dates still hold: revocation is the exchange's to say.
    found = offline(issued["compact"], keys)
    assert found.valid and found.revoked is None
    path = tmp_path / "permit.txt"
    path.write_text(issued["compact"])
    result = CliRunner().invoke(cli, ["permit", "verify", str(path), "--keys", str(keys),
                                      "--on", "2026-11-30"])
    assert result.exit_code == 0, result.output
    assert "Revocation is not checked offline" in result.output
    assert "POST /v1/permits/verify" in result.output


def test_a_permit_not_issued_here_is_not_on_record(client: TestClient, authorities: Any,
                                                   app: FastAPI) -> None:
    issued = issue(client, authorities)
    with app.state.exchange.sessions() as session:
        mx_key = session.scalar(select(Authority.private_key_enc).where(Authority.code == "MX"))
    assert mx_key is not None
    # Signed with MX's own key (as a copy of the key outside the exchange could), never stored.
    stray = _resigned({**issued["permit"], "id": "00000000-0000-4000-8000-000000000000"},
                      mx_key, app)
    found = client.post("/v1/permits/verify", json=stray,
                        headers=authorities.headers("CA")).json()
    assert found["valid"] is False and codes(found) == ["not_on_record"]


# -- a notification that cites a permit --------------------------------------------------------
def notify(client: TestClient, authorities: Any, **changes: Any) -> dict[str, Any]:
    response = client.post("/v1/notifications", json=notification(**changes),
                           headers=authorities.headers("CN"))
    assert response.status_code == 201, response.text
    sent: dict[str, Any] = response.json()
    return sent


def test_notifications_record_the_check_of_the_permit_they_cite(
        client: TestClient, authorities: Any) -> None:
    valid = issue(client, authorities)
    other = issue(client, authorities, permit_number="COFEPRIS-2026-000124", substance="NPP")
    us = issue(client, authorities, "US", permit_number="DEA-2026-1",
               importer={"name": "Example Labs", "country": "US"})
    from_india = issue(client, authorities, "US", permit_number="DEA-2026-2",
                       importer={"name": "Example Labs", "country": "US"},
                       exporter_country="IN", exporter=None)
    # 25 kg of the hydrochloride monohydrate under a permit for 30 kg of 4-piperidone.
    cases: list[tuple[str, dict[str, Any], list[str]]] = [
        ("valid, by id", {"permit": valid["id"]}, []),
        ("valid, compact", {"permit": valid["compact"]}, []),
        ("valid, in grams", {"permit": valid["id"], "quantity": 30000, "unit": "g"}, []),
        ("over quantity", {"permit": valid["id"], "quantity": 31}, ["quantity_exceeded"]),
        ("litres against kilograms", {"permit": valid["id"], "unit": "l"}, ["unit_mismatch"]),
        ("another substance", {"permit": other["id"]}, ["substance_mismatch"]),
        ("issued by another authority", {"permit": us["compact"]},
         ["wrong_issuer", "importer_country_mismatch"]),
        ("an id the exporter cannot read", {"permit": from_india["id"]}, ["not_found"]),
        ("after the permit ends", {"permit": valid["id"], "planned_shipment_date": "2027-06-01"},
         ["expired"]),
        ("not a permit", {"permit": "PWP1.garbage"}, ["malformed"]),
    ]
    for label, changes, expected in cases:
        sent = notify(client, authorities, **changes)
        check = sent["permit_check"]
        assert codes(check) == expected, (label, check)
        assert check["ok"] is (expected == []), label
        assert check["checked_on"] == sent["planned_shipment_date"]
        if expected != ["not_found"] and expected != ["malformed"]:
            assert check["issuer"] in ("MX", "US") and check["permit_number"], label
        # Signed with the record: the importing authority reads the same check.
        read = client.get(f"/v1/notifications/{sent['id']}", headers=authorities.headers("MX"))
        assert read.json()["permit_check"] == check
        signed = client.get(f"/v1/notifications/{sent['id']}/signed",
                            headers=authorities.headers("MX")).json()
        assert signed["document"]["body"]["permit_check"] == check
    over = next(c for c in [notify(client, authorities, permit=valid["id"], quantity=40)])
    assert over["permit_check"]["reasons"][0]["message"] == (
        "40 kg is more than the permitted 30 kg")
    plain = notify(client, authorities)
    assert "permit_check" not in plain and plain["permit"] is None


def test_a_notification_citing_a_revoked_permit_records_it(client: TestClient,
                                                           authorities: Any) -> None:
    issued = issue(client, authorities)
    client.post(f"/v1/permits/{issued['id']}/revoke", json={"reason": "importer closed"},
                headers=authorities.headers("MX"))
    check = notify(client, authorities, permit=issued["id"])["permit_check"]
    assert check["ok"] is False and check["revoked"] is True and codes(check) == ["revoked"]


# -- the audit chain ---------------------------------------------------------------------------
def test_audit_chains_hold_permits_and_find_their_edits(client: TestClient, authorities: Any,
                                                        app: FastAPI) -> None:
    issued = issue(client, authorities)
    issue(client, authorities, permit_number="COFEPRIS-2026-000200")
    client.post(f"/v1/permits/{issued['id']}/revoke", json={"reason": "importer closed"},
                headers=authorities.headers("MX"))
    notify(client, authorities, permit=issued["compact"])
    for code in ("MX", "CN"):
        report = client.get("/v1/audit/verify", headers=authorities.headers(code)).json()
        assert report["ok"], report
    assert client.get("/v1/audit/verify", headers=authorities.headers("MX")).json()[
        "entries"] == 3
    # Edits behind the service's back: the permitted quantity, then who may read it.
    with app.state.exchange.sessions.begin() as session:
        row = session.get_one(Permit, issued["id"])
        row.body = {**row.body, "quantity": 3000}
    problems = client.get("/v1/audit/verify", headers=authorities.headers("MX")).json()[
        "problems"]
    assert {p["problem"] for p in problems} >= {"record content changed since it was logged",
                                                "record signature does not verify"}
    assert all(p["record_type"] == "permit" for p in problems)
    with app.state.exchange.sessions.begin() as session:
        row = session.get_one(Permit, issued["id"])
        row.body = {**row.body, "quantity": 30}
    assert client.get("/v1/audit/verify", headers=authorities.headers("MX")).json()["ok"]
    with app.state.exchange.sessions.begin() as session:
        session.execute(update(Permit).where(Permit.id == issued["id"])
                        .values(exporter_country="US"))
    problems = client.get("/v1/audit/verify", headers=authorities.headers("MX")).json()[
        "problems"]
    assert [p["problem"] for p in problems] == [
        "the copy served to readers differs from the signed record"]


def test_a_permit_slipped_in_without_the_service_is_found(client: TestClient,
                                                           authorities: Any, app: FastAPI
                                                           ) -> None:
    issued = issue(client, authorities)
    columns = [c.key for c in Permit.__table__.columns]
    with app.state.exchange.sessions.begin() as session:
        row = session.get_one(Permit, issued["id"], options=[undefer_group("content")])
        copy = {c: getattr(row, c) for c in columns}
        session.add(Permit(**{**copy, "id": "00000000-0000-4000-8000-00000000000a",
                              "permit_number": "COFEPRIS-2026-999999"}))
    report = client.get("/v1/audit/verify", headers=authorities.headers("MX")).json()
    assert report["problems"] == [{"seq": None, "record_type": "permit",
                                   "record_id": "00000000-0000-4000-8000-00000000000a",
                                   "problem": "record is not in the audit chain"}]


def test_no_downgrade_below_the_permits_while_any_is_held(client: TestClient,
                                                          authorities: Any, app: FastAPI
                                                          ) -> None:
    from alembic import command

    from precursorwatch.exchange.db import migrating

    issued = issue(client, authorities)
    with (pytest.raises(RuntimeError, match="cannot go below revision 0008: 1 permits"),
          migrating(app.state.exchange.engine) as config):
        command.downgrade(config, "0007")
    assert client.get(f"/v1/permits/{issued['id']}",
                      headers=authorities.headers("MX")).status_code == 200
    assert client.get("/v1/audit/verify", headers=authorities.headers("MX")).json()["ok"]


# -- the offline command -----------------------------------------------------------------------
def test_pwatch_permit_verify(client: TestClient, authorities: Any, tmp_path: Path) -> None:
    issued = issue(client, authorities)
    keys = keys_file(client, authorities, tmp_path)
    as_json = tmp_path / "permit.json"
    as_json.write_text(json.dumps(issued))
    runner = CliRunner()

    def run(*args: str, stdin: str | None = None) -> Any:
        return runner.invoke(cli, ["permit", "verify", *args, "--keys", str(keys)],
                             input=stdin)

    good = run(str(as_json), "--on", "2026-12-01")
    assert good.exit_code == 0, good.output
    for words in ("Permit COFEPRIS-2026-000123", "issued by   MX (COFEPRIS)",
                  "4-piperidone", "VRJHQPZVIGNGMX-UHFFFAOYSA-N", "quantity    30 kg",
                  "importer    Quimica Ejemplo SA (Av. Ejemplo 1, Guadalajara, MX)",
                  "exporter    from CN: Hubei Example Chemical Co.",
                  "valid       2026-11-23 to 2027-05-22", "VALID on 2026-12-01"):
        assert words in good.output, words
    piped = run("-", "--on", "2026-12-01", stdin=issued["compact"] + "\n")
    assert piped.exit_code == 0, piped.output
    expired = run("-", "--on", "2027-06-01", stdin=issued["compact"])
    assert expired.exit_code == 1
    assert "NOT VALID on 2027-06-01" in expired.output
    assert "expired: the permit expired after 2027-05-22" in expired.output
    altered = tmp_path / "altered.json"
    altered.write_text(json.dumps({**issued, "permit": {**issued["permit"], "quantity": 300}}))
    forged = run(str(altered))
    assert forged.exit_code == 1 and "bad signature: the signature does not verify" in \
        forged.output
    truncated = run("-", stdin=issued["compact"][:200])
    assert truncated.exit_code == 1 and "malformed:" in truncated.output
    machine = run("-", "--json", "--on", "2026-12-01", stdin=issued["compact"])
    assert machine.exit_code == 0
    assert json.loads(machine.output)["valid"] is True
    assert json.loads(machine.output)["revoked"] is None
    # Usage errors: exit 2, one line saying what is wrong.
    for args, words in [((str(tmp_path / "missing.json"),), "permit file"),
                        ((str(as_json), "--on", "tomorrow"), "--on: 'tomorrow' is not a date")]:
        result = run(*args)
        assert result.exit_code == 2 and words in result.output, result.output
    bad_keys = tmp_path / "bad.json"
    for content, words in [("not json", "not JSON"), ('{"MX": 1}', "expected a JSON list"),
                           ('[{"code": "MX", "public_key": "abc"}]', "not base64"),
                           ('[{"code": "MX", "public_key": "' + "A" * 43 + '=", "key_id": "x"}]',
                            "is not the id of its public key")]:
        bad_keys.write_text(content)
        result = runner.invoke(cli, ["permit", "verify", str(as_json), "--keys",
                                     str(bad_keys)])
        assert result.exit_code == 2 and words in result.output, (content, result.output)


def test_compact_form_round_trips_and_refuses_oversized_payloads() -> None:
    doc = {"type": "permit", "id": "x", "issuer": "MX", "key_id": "k", "note": "é" * 10}
    text = permits.encode_compact(doc, b"\x01" * 64)
    back = permits.decode_compact(text[:20] + "\n" + text[20:])
    assert back.document == doc and back.payload == canonical_json(doc)
    bomb = permits.COMPACT_PREFIX + base64.urlsafe_b64encode(
        zlib.compress(b" " * 100_000)).rstrip(b"=").decode() + "." + "A" * 86
    with pytest.raises(permits.MalformedPermit, match="over 16000 bytes"):
        permits.decode_compact(bomb)
