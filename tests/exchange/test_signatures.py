"""Records are signed over RFC 8785 canonical JSON, which a verifier outside this code base
reproduces: the shipped example checks records fetched from a running server with only an
Ed25519 library and `rfc8785`. Records signed before RFC 8785 keep verifying in their form."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from alembic import command
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from exchange_helpers import incident, notification, sign_as_before_rfc8785
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import inspect, text

from precursorwatch.exchange.admin import verify_audit
from precursorwatch.exchange.db import migrating
from precursorwatch.exchange.schemas import SignedRecord

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "verify_signature.py"


@pytest.fixture
def records(client: TestClient, authorities: Any) -> dict[str, str]:
    """CN notifies MX (answered with an objection), US reports an incident shared with CN."""
    sent = client.post("/v1/notifications", json=notification(quantity=25.0),
                       headers=authorities.headers("CN"))
    assert sent.status_code == 201, sent.text
    answered = client.post(f"/v1/notifications/{sent.json()['id']}/response",
                           json={"decision": "objection", "reason": "no licence held"},
                           headers=authorities.headers("MX"))
    assert answered.status_code == 200, answered.text
    seized = client.post("/v1/incidents", json=incident(shared_with=["CN"]),
                         headers=authorities.headers("US"))
    assert seized.status_code == 201, seized.text
    return {"notification": sent.json()["id"], "incident": seized.json()["id"]}


def run_example(url: str, key: str, record: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(EXAMPLE), url, key, record],
                          capture_output=True, text=True, timeout=60, check=False)


def signed(client: TestClient, authorities: Any, path: str, code: str = "CN"
           ) -> dict[str, Any]:
    got = client.get(f"/v1/{path}/signed", headers=authorities.headers(code))
    assert got.status_code == 200, got.text
    SignedRecord.model_validate(got.json())
    return dict(got.json())


def test_new_records_are_signed_over_rfc8785_bytes(client: TestClient, authorities: Any,
                                                   records: dict[str, str]) -> None:
    keys = {a["code"]: a["public_key"] for a in client.get(
        "/v1/authorities", headers=authorities.headers("CN")).json()}
    found = signed(client, authorities, f"notifications/{records['notification']}")
    assert found["canonicalization"] == "rfc8785" and found["signed_by"] == "CN"
    document = found["document"]
    assert document["id"] == records["notification"] and document["body"]["quantity"] == 25
    # The served record carries the same signature.
    served = client.get(f"/v1/notifications/{records['notification']}",
                        headers=authorities.headers("CN")).json()
    assert served["signature"] == found["signature"]
    assert served["response"]["signature"] == found["response"]["signature"]
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(keys["CN"]))
    signature = base64.b64decode(found["signature"])
    public.verify(signature, rfc8785.dumps(document))
    # The quantity 25.0 is `25` in RFC 8785 and `25.0` in Python's JSON: the form matters.
    legacy = json.dumps(document, sort_keys=True, separators=(",", ":"),
                        ensure_ascii=False).encode()
    assert legacy != rfc8785.dumps(document)
    with pytest.raises(InvalidSignature):
        public.verify(signature, legacy)
    with pytest.raises(InvalidSignature):  # another authority's key
        Ed25519PublicKey.from_public_bytes(base64.b64decode(keys["MX"])).verify(
            signature, rfc8785.dumps(document))
    answer = found["response"]
    assert answer["signed_by"] == "MX" and answer["document"]["decision"] == "objection"
    Ed25519PublicKey.from_public_bytes(base64.b64decode(keys["MX"])).verify(
        base64.b64decode(answer["signature"]), rfc8785.dumps(answer["document"]))


def test_signed_form_is_read_like_the_record(client: TestClient, authorities: Any,
                                             records: dict[str, str]) -> None:
    """Only the parties to a record get its signed form; anyone else gets 404."""
    notification_path = f"/v1/notifications/{records['notification']}/signed"
    incident_path = f"/v1/incidents/{records['incident']}/signed"
    for code in ("CN", "MX", "US"):
        assert client.get(notification_path, headers=authorities.headers(code)).status_code == 200
    assert client.get(notification_path, headers=authorities.headers("CA")).status_code == 404
    assert client.get(incident_path, headers=authorities.headers("CN")).status_code == 200
    assert client.get(incident_path, headers=authorities.headers("MX")).status_code == 404
    missing = client.get("/v1/incidents/7d3f0a1e-2b4c-4d5e-8f90-a1b2c3d4e5f6/signed",
                         headers=authorities.headers("CN"))
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_the_shipped_example_verifies_records_from_a_running_server(
        client: TestClient, authorities: Any, app: FastAPI, live_server: Any,
        records: dict[str, str]) -> None:
    key = authorities.by_code["CN"].api_key
    ok = run_example(live_server.url, key, f"notifications/{records['notification']}")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert f"notification {records['notification']}: signed by CN (rfc8785)" in ok.stdout
    assert "signed by MX (rfc8785)" in ok.stdout  # the answer
    seized = run_example(live_server.url, key, f"incidents/{records['incident']}")
    assert seized.returncode == 0, seized.stdout + seized.stderr
    assert "signed by US" in seized.stdout
    # An edit behind the service's back: the example no longer verifies the record.
    with app.state.exchange.engine.begin() as conn:
        conn.execute(text("UPDATE incident SET body = :body WHERE id = :id"),
                     {"id": records["incident"],
                      "body": json.dumps(incident(shared_with=["CN"], quantity=4))})
    tampered = run_example(live_server.url, key, f"incidents/{records['incident']}")
    assert tampered.returncode == 1 and "does NOT verify" in tampered.stdout


def test_records_signed_before_rfc8785_still_verify(
        client: TestClient, authorities: Any, app: FastAPI, live_server: Any,
        records: dict[str, str]) -> None:
    ex = app.state.exchange
    sign_as_before_rfc8785(ex)
    assert all(r.ok for r in verify_audit(ex.engine)), [r.problems for r in verify_audit(
        ex.engine)]
    found = signed(client, authorities, f"notifications/{records['notification']}")
    assert found["canonicalization"] == "sorted-json"
    assert found["response"]["canonicalization"] == "sorted-json"
    done = run_example(live_server.url, authorities.by_code["MX"].api_key,
                       f"notifications/{records['notification']}")
    assert done.returncode == 0 and "signed by CN (sorted-json)" in done.stdout, done.stdout
    # Each row is checked in the form it names: claiming the other form breaks it.
    with ex.engine.begin() as conn:
        conn.execute(text("UPDATE notification SET canon = 'rfc8785' WHERE id = :id"),
                     {"id": records["notification"]})
    cn = next(r for r in verify_audit(ex.engine) if r.authority == "CN")
    assert {p.problem for p in cn.problems} == {
        "record content changed since it was logged", "record signature does not verify"}


def test_new_records_verify_next_to_old_ones(client: TestClient, authorities: Any,
                                             app: FastAPI, records: dict[str, str]) -> None:
    sign_as_before_rfc8785(app.state.exchange)
    again = client.post("/v1/notifications", json=notification(quantity=3.5),
                        headers=authorities.headers("CN"))
    assert again.status_code == 201
    assert signed(client, authorities, f"notifications/{again.json()['id']}")[
        "canonicalization"] == "rfc8785"
    report = client.get("/v1/audit/verify", headers=authorities.headers("CN")).json()
    assert report["ok"] and report["entries"] == 2, report


def test_no_downgrade_below_rfc8785_signatures(client: TestClient, authorities: Any,
                                               app: FastAPI, records: dict[str, str]) -> None:
    """Without the record of each row's form, the rows signed over RFC 8785 would fail the
    audit: a downgrade below revision 0006 is refused while there are any."""
    with (pytest.raises(RuntimeError, match="cannot go below revision 0006: 1 notification"),
          migrating(app.state.exchange.engine) as config):
        command.downgrade(config, "0005")
    assert all(r.ok for r in verify_audit(app.state.exchange.engine))


def test_upgrade_marks_stored_records_with_their_form_and_re_signs_nothing(
        client: TestClient, authorities: Any, app: FastAPI, records: dict[str, str]) -> None:
    """Records stored under revision 0005 come through revision 0006 marked `sorted-json`,
    with the signatures they had."""
    ex = app.state.exchange
    sign_as_before_rfc8785(ex)
    tables = ("notification", "notification_response", "incident")

    def signatures(conn: Any) -> dict[str, str]:
        return {i: s for t in tables
                for i, s in conn.execute(text(f"SELECT id, signature FROM {t}")).all()}

    with migrating(ex.engine) as config:
        conn = config.attributes["connection"]
        before = signatures(conn)
        command.downgrade(config, "0005")
        assert "canon" not in {c["name"] for c in inspect(conn).get_columns("incident")}
        command.upgrade(config, "head")
        assert signatures(conn) == before and len(before) == 3
        for table in tables:
            assert conn.execute(text(f"SELECT DISTINCT canon FROM {table}")).scalars().all() \
                == ["sorted-json"]
    assert all(r.ok for r in verify_audit(ex.engine))
    found = signed(client, authorities, f"incidents/{records['incident']}")
    assert found["canonicalization"] == "sorted-json"


def test_canonical_form_is_rfc8785_when_large_members_are_remembered(
        client: TestClient, authorities: Any, records: dict[str, str]) -> None:
    from precursorwatch.exchange.signing import canonical_json

    document = signed(client, authorities, f"notifications/{records['notification']}")["document"]
    assert len(json.dumps(document["verdict"])) > 256  # large enough to be remembered
    odd = {**document, "ü-key": {"Ω": [1.5e21, 25.0, -0.0, "é\u2028"] * 40},
           "floats": [0.1, 1e-7, 25.0] * 40, "empty": {}, "nested": [[{"b": 1, "a": 2}]] * 40}
    for value in (document, odd, document["verdict"], [document], "x", 25.0):
        assert canonical_json(value) == rfc8785.dumps(value)
        assert canonical_json(value) == rfc8785.dumps(value)  # from the memo, the same
    # A second record of the same substance is signed over the remembered verdict's bytes.
    keys = {a["code"]: a["public_key"] for a in client.get(
        "/v1/authorities", headers=authorities.headers("CN")).json()}
    again = client.post("/v1/notifications", json=notification(),
                        headers=authorities.headers("CN"))
    assert again.status_code == 201, again.text
    found = signed(client, authorities, f"notifications/{again.json()['id']}")
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(keys["CN"]))
    public.verify(base64.b64decode(found["signature"]), rfc8785.dumps(found["document"]))
