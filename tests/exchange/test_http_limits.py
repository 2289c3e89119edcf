"""Request heads are bounded and checked before any route runs: over-long or too many headers
get 431, two Authorization headers 400, a malformed head 400, each with the JSON error; a
client sending a huge header does not stall the others."""

from __future__ import annotations

import json
import socket
import threading
import time
from typing import Any

import httpx
import pytest
from conftest import LiveServer
from fastapi.testclient import TestClient

from precursorwatch.exchange.http import MAX_HEAD_BYTES, MAX_HEADERS


def raw_exchange(server: LiveServer, head: bytes, *, pad: int = 0, timeout: float = 20
                 ) -> tuple[int, dict[str, str], bytes]:
    """Send `head` (then `pad` more bytes of one header value and the end of the head) on a
    fresh connection; the status, headers and body of the answer."""
    with socket.create_connection((server.host, server.port), timeout=timeout) as sock:
        try:
            sock.sendall(head)
            chunk = b"x" * 65536
            sent = 0
            while sent < pad:
                sock.sendall(chunk)
                sent += len(chunk)
            if pad:
                sock.sendall(b"\r\n\r\n")
        except OSError:
            pass  # the server may stop reading once it has answered
        data = b""
        while True:
            try:
                got = sock.recv(65536)
            except ConnectionResetError:
                break
            if not got:
                break
            data += got
    head_part, _, body = data.partition(b"\r\n\r\n")
    lines = head_part.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":")
                                                            for line in lines[1:])}
    return status, headers, body


def json_error(headers: dict[str, str], body: bytes) -> dict[str, str]:
    assert headers["content-type"].startswith("application/json"), headers
    error: dict[str, str] = json.loads(body)["error"]
    return error


def test_a_huge_header_is_refused_early_and_others_are_served(
        live_server: LiveServer, authorities: Any) -> None:
    answers: list[tuple[int, dict[str, str], bytes, float]] = []

    def attacker() -> None:
        start = time.monotonic()
        status, headers, body = raw_exchange(
            live_server, b"GET /v1/authorities HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ",
            pad=64 * 1024 * 1024)
        answers.append((status, headers, body, time.monotonic() - start))

    thread = threading.Thread(target=attacker)
    thread.start()
    slowest = 0.0
    with httpx.Client(base_url=live_server.url, timeout=30) as http:
        while thread.is_alive():
            start = time.monotonic()
            assert http.get("/v1/authorities", headers=authorities.headers("MX")).status_code == 200
            slowest = max(slowest, time.monotonic() - start)
    thread.join()
    status, headers, body, took = answers[0]
    assert status == 431, body[:200]
    error = json_error(headers, body)
    assert error["code"] == "headers_too_large" and str(MAX_HEAD_BYTES) in error["message"]
    assert took < 5, took
    assert slowest < 1, slowest


def test_a_head_just_over_the_bound_in_one_piece_is_refused(live_server: LiveServer,
                                                           authorities: Any) -> None:
    key = "Bearer " + "k" * MAX_HEAD_BYTES
    status, headers, body = raw_exchange(
        live_server, f"GET /healthz HTTP/1.1\r\nHost: x\r\nAuthorization: {key}\r\n\r\n".encode())
    assert status == 431
    assert json_error(headers, body)["code"] == "headers_too_large"
    fine = raw_exchange(live_server, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: "
                        + b"p" * (MAX_HEAD_BYTES // 2) + b"\r\nConnection: close\r\n\r\n")
    assert fine[0] == 200


def test_too_many_headers_are_refused(client: TestClient, live_server: LiveServer,
                                      authorities: Any) -> None:
    many = [(f"x-h{i}", "1") for i in range(MAX_HEADERS + 1)]
    got = client.get("/v1/authorities", headers=[*authorities.headers("MX").items(), *many])
    assert got.status_code == 431
    assert got.json()["error"]["code"] == "too_many_headers"
    head = ("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            + "".join(f"{k}: {v}\r\n" for k, v in many))
    status, headers, body = raw_exchange(live_server, (head + "\r\n").encode())
    assert status == 431 and json_error(headers, body)["code"] == "too_many_headers"


@pytest.mark.parametrize("second", ["same", "other"])
def test_two_authorization_headers_are_refused(client: TestClient, authorities: Any,
                                               second: str) -> None:
    mine = authorities.headers("MX")["Authorization"]
    other = mine if second == "same" else authorities.headers("CN")["Authorization"]
    got = client.get("/v1/notifications",
                     headers=[("Authorization", mine), ("Authorization", other)])
    assert got.status_code == 400, got.text
    error = got.json()["error"]
    assert error["code"] == "duplicate_header" and "Authorization" in error["message"]


@pytest.mark.parametrize("value", [b"Bearer a\x00b", b"Bearer a\rb", b"a\x7fb"],
                         ids=["NUL", "CR", "DEL"])
def test_a_malformed_header_value_gets_a_json_error(live_server: LiveServer,
                                                    value: bytes) -> None:
    status, headers, body = raw_exchange(
        live_server, b"GET /v1/authorities HTTP/1.1\r\nHost: x\r\nAuthorization: " + value
        + b"\r\n\r\n")
    assert status == 400, body
    error = json_error(headers, body)
    assert error["code"] == "bad_http_request" and "NUL, CR or LF" in error["message"]
