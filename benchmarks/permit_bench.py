"""How fast an import permit is checked offline, and how long its compact (QR) form is.

    .venv/bin/python benchmarks/permit_bench.py [--permits 2000]

Signs N permits with a fresh Ed25519 key (no server, no database), then measures per permit:
the compact form's length (typical fields, and every text field at its longest), decoding and
verifying the compact form, verifying the JSON form; and the wall time of `pwatch permit
verify` on one permit, start-up included, which is what a person at a border waits for.
Target: a permit verified in seconds, by a person with the command; under a millisecond in
the library; the compact form of a typical permit at most 1,000 characters.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import random
import statistics
import string
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from precursorwatch.exchange import permits
from precursorwatch.exchange.signing import canonical_json, content_hash

VERDICT = {"input": "4-piperidone hydrochloride monohydrate", "verdict": "controlled",
           "name": "4-piperidone", "inchikey": "VRJHQPZVIGNGMX-UHFFFAOYSA-N",
           "cas": "41661-47-6"}
TYPICAL = {"permit_number": "COFEPRIS-2026-000123",
           "substance": "4-piperidone hydrochloride monohydrate", "quantity": 25.0,
           "unit": "kg", "importer": {"name": "Quimica Ejemplo SA de CV", "country": "MX",
                                      "address": "Av. Ejemplo 1, Guadalajara"},
           "exporter_country": "CN",
           "exporter": {"name": "Hubei Example Chemical Co.", "country": "CN",
                        "address": "12 Example Rd, Wuhan"},
           "valid_from": "2026-11-23", "valid_until": "2027-05-22"}


def text(length: int, rng: random.Random) -> str:
    """Letters and spaces that compress like real names (repeated letters would not)."""
    return "".join(rng.choice(string.ascii_letters + "    ") for _ in range(length))


def longest() -> dict[str, Any]:
    """Long names: a 64-character permit number (the most allowed), 120-character names and
    substance, 200-character addresses (not the 4,000 an address may have: no label carries
    that)."""
    rng = random.Random(1)
    return {**TYPICAL, "permit_number": "P" * 64, "substance": text(120, rng),
            "importer": {"name": text(120, rng), "country": "MX", "address": text(200, rng)},
            "exporter": {"name": text(120, rng), "country": "CN", "address": text(200, rng)}}


def sign(key: Ed25519PrivateKey, key_id: str, data: dict[str, Any], n: int
         ) -> tuple[dict[str, Any], bytes]:
    doc = permits.permit_document(
        permit_id=str(uuid.UUID(int=n)), issuer="MX", signing_key_id=key_id, data=data,
        checked=permits.checked_substance(VERDICT, content_hash(VERDICT)),
        issued_at="2026-11-23T09:00:00Z")
    return doc, key.sign(canonical_json(doc))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--permits", type=int, default=2000)
    args = parser.parse_args()
    key = Ed25519PrivateKey.generate()
    public = base64.b64encode(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
                              ).decode()
    kid = permits.key_id(public)
    ring = permits.KeyRing.of([permits.PublicKey("MX", kid, public)])
    on = dt.date(2026, 12, 1)

    signed = [sign(key, kid, {**TYPICAL, "permit_number": f"COFEPRIS-2026-{n:06d}"}, n)
              for n in range(args.permits)]
    compacts = [permits.encode_compact(doc, sig) for doc, sig in signed]
    served = [{"permit": doc, "signature": base64.b64encode(sig).decode()}
              for doc, sig in signed]
    lengths = [len(c) for c in compacts]
    long_doc, long_sig = sign(key, kid, longest(), 0)
    print(f"compact length, typical permit: {statistics.median(lengths):.0f} characters "
          f"(max {max(lengths)}); with long names: "
          f"{len(permits.encode_compact(long_doc, long_sig))}")

    start = time.perf_counter()
    results = [permits.verify_permit(permits.decode_compact(c), ring, on) for c in compacts]
    compact_ms = (time.perf_counter() - start) * 1000 / len(compacts)
    start = time.perf_counter()
    results += [permits.verify_permit(permits.from_json(s), ring, on) for s in served]
    json_ms = (time.perf_counter() - start) * 1000 / len(served)
    assert all(r.valid for r in results)
    print(f"library: decode and verify a compact permit {compact_ms:.3f} ms, "
          f"a JSON permit {json_ms:.3f} ms ({args.permits} each)")

    with tempfile.TemporaryDirectory() as folder:
        keys = Path(folder) / "authorities.json"
        keys.write_text(json.dumps([{"code": "MX", "name": "COFEPRIS", "public_key": public}]))
        permit = Path(folder) / "permit.txt"
        permit.write_text(compacts[0])
        pwatch = Path(sys.executable).with_name("pwatch")
        walls = []
        for _ in range(5):
            start = time.perf_counter()
            done = subprocess.run([str(pwatch), "permit", "verify", str(permit), "--keys",
                                   str(keys), "--on", on.isoformat()], capture_output=True,
                                  check=False)
            walls.append(time.perf_counter() - start)
            assert done.returncode == 0, done.stderr
    print(f"pwatch permit verify, start-up included: median {statistics.median(walls):.2f} s "
          f"(best {min(walls):.2f} s of 5)")


if __name__ == "__main__":
    main()
