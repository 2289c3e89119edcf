"""Systematic (IUPAC) names to structures with OPSIN.

Starting the JVM (about 0.5 s) costs far more than parsing a name (a few ms). Batch work sends
every name of a batch to one Java process (`names_to_smiles`); a long-running service that
meets names one request at a time keeps one process running (`OpsinProcess`).
"""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from importlib.resources import files

NameParser = Callable[[Sequence[str]], list[str | None]]

_JAR_NAME = "opsin-cli-2.9.0-jar-with-dependencies.jar"


class OpsinUnavailable(RuntimeError):
    """Java or the OPSIN jar is missing; names can then only resolve through the synonym index."""


def _jar_path() -> str:
    jar = files("py2opsin") / _JAR_NAME
    return str(jar)


def java_available() -> bool:
    return shutil.which("java") is not None


def names_to_smiles(names: Sequence[str], *, timeout: float = 120.0) -> list[str | None]:
    """SMILES for each name in order, None where OPSIN cannot parse it.

    Names are written one per line to a private temporary file (see `_one_line`).
    """
    if not names:
        return []
    if not java_available():
        raise OpsinUnavailable("Java is not installed: systematic names cannot be parsed (OPSIN)")
    clean = [_one_line(n) for n in names]
    fd, path = tempfile.mkstemp(prefix="pwatch-opsin-", suffix=".txt")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write("\n".join(clean) + "\n")
        proc = subprocess.run(
            ["java", "-Djava.awt.headless=true", "-jar", _jar_path(), "-osmi", path],
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    finally:
        os.unlink(path)
    if proc.returncode != 0 and not proc.stdout:
        raise OpsinUnavailable(
            f"OPSIN failed (exit {proc.returncode}): {proc.stderr.decode(errors='replace')[:200]}"
        )
    lines = proc.stdout.decode("utf-8", errors="replace").split("\n")
    # OPSIN prints one line per input line, empty where the name was not understood.
    out: list[str | None] = [(ln.strip() or None) for ln in lines[: len(clean)]]
    out.extend([None] * (len(clean) - len(out)))
    return out


def _one_line(name: str) -> str:
    # A newline inside a name would shift every later answer.
    return " ".join(name.split()) or "-"


class OpsinProcess:
    """One OPSIN process kept running: names go to its standard input one line at a time and
    each answer line is read back (OPSIN answers every line at once, empty when it cannot
    parse the name). Started at the first name; restarted if it dies; a name that takes
    longer than `timeout` seconds gets None and the process is replaced. Thread-safe.
    Call it like `names_to_smiles`."""

    def __init__(self, *, timeout: float = 30.0) -> None:
        self.timeout = timeout
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._pending = b""
        self._finalizer: weakref.finalize | None = None

    def __call__(self, names: Sequence[str]) -> list[str | None]:
        with self._lock:
            return [self._parse(_one_line(n)) for n in names]

    def close(self) -> None:
        with self._lock:
            self._stop()

    @property
    def pid(self) -> int | None:
        """The running OPSIN's process id, None before the first name or after `close`."""
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    def _start(self) -> subprocess.Popen[bytes]:
        if self._proc is not None and self._proc.poll() is None:
            return self._proc
        if not java_available():
            raise OpsinUnavailable("Java is not installed: systematic names cannot be parsed "
                                   "(OPSIN)")
        # Errors go nowhere: an unread stderr pipe could fill and stall OPSIN.
        self._proc = subprocess.Popen(
            ["java", "-Djava.awt.headless=true", "-XX:+UseSerialGC", "-jar", _jar_path(),
             "-osmi"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL)
        self._pending = b""
        # The JVM ends with its input; this closes it when the object goes, too.
        self._finalizer = weakref.finalize(self, _terminate, self._proc)
        return self._proc

    def _stop(self) -> None:
        if self._finalizer is not None:
            self._finalizer()
        self._proc, self._finalizer, self._pending = None, None, b""

    def _parse(self, line: str) -> str | None:
        for attempt in (1, 2):
            proc = self._start()
            assert proc.stdin is not None
            try:
                proc.stdin.write(line.encode("utf-8") + b"\n")
                proc.stdin.flush()
                answer = self._read_line(proc)
            except OSError as exc:  # it died since the last name: start a new one, once
                self._stop()
                if attempt == 2:
                    raise OpsinUnavailable(f"OPSIN stopped: {exc}") from None
                continue
            if answer is None:  # too slow: this name gets no structure, OPSIN a fresh start
                self._stop()
                return None
            return answer.decode("utf-8", errors="replace").strip() or None
        raise AssertionError("unreachable")

    def _read_line(self, proc: subprocess.Popen[bytes]) -> bytes | None:
        """The next answer line; None after `timeout`."""
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        deadline = time.monotonic() + self.timeout
        while b"\n" not in self._pending:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return None
            chunk = os.read(fd, 65536)
            if not chunk:
                raise _Exited(f"exit status {proc.wait()}")
            self._pending += chunk
        line, _, self._pending = self._pending.partition(b"\n")
        return line


class _Exited(OSError):
    """The OPSIN process is gone (its pipes broke or closed)."""


def _terminate(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    for stream in (proc.stdin, proc.stdout):
        if stream is not None:
            stream.close()
