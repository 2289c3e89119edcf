"""Verify a record of a Precursor Watch exchange with nothing but an Ed25519 library.

    python verify_signature.py BASE_URL API_KEY notifications/ID   (or incidents/ID)

Needs `cryptography` (any Ed25519 library will do) and `rfc8785`. Exit status 0 when every
signature verifies, 1 when one does not. The public keys come from the server here; an
authority that pins its partners' keys (exchanged out of band) passes those instead.
"""

from __future__ import annotations

import base64
import json
import sys
import urllib.request
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

# Who must have signed each kind of record, as the signed document itself says.
SIGNER = {"notification": "exporting_authority", "response": "authority", "incident": "reporter"}


def get(url: str, api_key: str) -> Any:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {api_key}"})
    with urllib.request.urlopen(request) as response:
        return json.load(response)


def signed_bytes(document: Any, form: str) -> bytes:
    if form == "rfc8785":
        return rfc8785.dumps(document)
    if form == "sorted-json":  # records stored before RFC 8785
        return json.dumps(document, sort_keys=True, separators=(",", ":"),
                          ensure_ascii=False).encode("utf-8")
    raise ValueError(f"unknown canonical form {form!r}")


def verify(signed: dict[str, Any], public_keys: dict[str, str]) -> str:
    """The signing authority's code; raises InvalidSignature if the signature is not its."""
    document = signed["document"]
    signer = document[SIGNER[signed["type"]]]
    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_keys[signer]))
    key.verify(base64.b64decode(signed["signature"]),
               signed_bytes(document, signed["canonicalization"]))
    return str(signer)


def main(base_url: str, api_key: str, record: str) -> int:
    signed = get(f"{base_url}/v1/{record}/signed", api_key)
    keys = {a["code"]: a["public_key"] for a in get(f"{base_url}/v1/authorities", api_key)}
    if signed["document"]["id"] != record.rsplit("/", 1)[-1]:
        print("the signed document is another record's")
        return 1
    parts = [signed]
    if signed.get("response"):
        parts.append(signed["response"])
        if signed["response"]["document"]["notification_id"] != signed["id"]:
            print("the answer is another notification's")
            return 1
    for part in parts:
        try:
            signer = verify(part, keys)
        except InvalidSignature:
            print(f"{part['type']} {part['id']}: signature does NOT verify")
            return 1
        print(f"{part['type']} {part['id']}: signed by {signer} ({part['canonicalization']})")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
