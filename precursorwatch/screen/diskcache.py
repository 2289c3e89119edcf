"""A small on-disk cache for data that is slow to build and fast to read back.

Each value is stored with the key it was built from, in the user's cache folder
(`$PRECURSORWATCH_CACHE`, else `$XDG_CACHE_HOME/precursorwatch`, else
`~/.cache/precursorwatch`). A file that is missing, unreadable, corrupt or stored under another
key is rebuilt, never trusted; files are written to a temporary name and renamed into place, so
a reader never sees half a file. A cache folder that cannot be written only costs the rebuild.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import os
import pickle
import sqlite3
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import closing, contextmanager, suppress
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TypeVar

from precursorwatch.chem.opsin import OpsinProcess, _jar_path
from precursorwatch.chem.vocabulary import cache_root

T = TypeVar("T")

_log = logging.getLogger(__name__)
_PROTOCOL = 5


def cache_dir() -> Path:
    """The folder the caches live in (not created here): the one the vocabulary index uses."""
    return cache_root()


def code_version(files: Iterable[str | Path], packages: Iterable[str] = ()) -> str:
    """A digest of source files and installed package versions: cached results made by other
    code are then stored under another key, so a change to the code invalidates them."""
    h = hashlib.sha256(f"{sys.version_info[:2]}".encode())
    for f in files:
        h.update(Path(f).read_bytes())
    for name in packages:
        try:
            h.update(f"{name}={version(name)}".encode())
        except PackageNotFoundError:
            h.update(f"{name}=?".encode())
    return h.hexdigest()


def file_fingerprint(path: Path) -> tuple[str, int, int, str]:
    """Where a file is, its size, modification time and content digest (blake2b reads
    hundreds of MB/s: cheap next to parsing the file)."""
    p = path.resolve()
    st = p.stat()
    h = hashlib.blake2b(digest_size=16)
    with p.open("rb") as fh:
        while block := fh.read(1 << 20):
            h.update(block)
    return str(p), st.st_size, st.st_mtime_ns, h.hexdigest()


@contextmanager
def no_gc() -> Iterator[None]:
    """The cyclic garbage collector paused for the block."""
    # Reading back hundreds of thousands of small containers would trigger the cyclic
    # collector again and again; they hold no cycles.
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def cache_path(kind: str, key: object) -> Path:
    """The file the value for `key` is stored in."""
    digest = hashlib.sha256(repr((kind, key)).encode()).hexdigest()[:40]
    return cache_dir() / f"{kind}-{digest}.pickle"


_MISSING = object()


def read(kind: str, key: object, default: T) -> object | T:
    """The value stored for `key`, or `default` when there is none (or the file is unreadable,
    or was stored for another key)."""
    path = cache_path(kind, key)
    try:
        with path.open("rb") as fh, no_gc():
            stored_key, value = pickle.load(fh)
        if stored_key == key:
            with suppress(OSError):
                os.utime(path)  # marks it in use (see `prune`)
            return value
        _log.info("%s: made for other input; rebuilding", path)
    except FileNotFoundError:
        pass
    except Exception as exc:  # any unreadable cache is rebuilt
        _log.warning("%s: unreadable cache (%s); rebuilding", path, type(exc).__name__)
    return default


def cached(kind: str, key: object, build: Callable[[], T]) -> T:
    """The value stored for `key`, or `build()` (then stored). `key` is made of plain values
    (strings, numbers, tuples); the stored key must equal it exactly to be used."""
    found = read(kind, key, _MISSING)
    if found is not _MISSING:
        return found  # type: ignore[return-value]
    value = build()
    store(cache_path(kind, key), key, value)
    prune(kind)
    return value


def prune(kind: str, days: float = 30.0) -> None:
    """Remove the files of this kind not used for `days` (made for lists or code since
    replaced); a file in use is touched at each read."""
    cutoff = time.time() - days * 86400
    with suppress(OSError):
        for f in cache_dir().glob(f"{kind}-*.pickle"):
            with suppress(OSError):
                if f.stat().st_mtime < cutoff:
                    f.unlink()


def store(path: Path, key: object, value: object) -> None:
    """Write (key, value) to `path` atomically; a failure to write is logged, not raised."""
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as fh:
            pickle.dump((key, value), fh, protocol=_PROTOCOL)
        os.replace(tmp, path)
        tmp = None
    except (OSError, pickle.PicklingError) as exc:
        _log.info("%s: cache not written (%s)", path, exc)
    finally:
        if tmp is not None:
            with suppress(OSError):
                os.unlink(tmp)


class CachedOpsin(OpsinProcess):
    """An `OpsinProcess` that remembers its answers across runs, in an SQLite file of the
    cache folder (one per OPSIN jar): a run whose names were all parsed before starts no JVM
    at all, and a new name still costs milliseconds. Answers given while OPSIN was being
    replaced after a timeout are not stored (a None then may mean "too slow")."""

    def __init__(self, *, timeout: float = 30.0) -> None:
        super().__init__(timeout=timeout)
        jar = Path(_jar_path())
        size = jar.stat().st_size if jar.is_file() else 0
        self.store_path = cache_dir() / f"opsin-{jar.stem}-{size}.sqlite"
        self._known: dict[str, str | None] | None = None
        self._known_lock = threading.Lock()
        self._stops = 0

    def _stop(self) -> None:
        self._stops += 1  # counted: a None given around a replacement may be a timeout
        super()._stop()

    def __call__(self, names: Sequence[str]) -> list[str | None]:
        with self._known_lock:
            known = self._load()
            missing = list(dict.fromkeys(n for n in names if n not in known))
        if missing:
            stops = self._stops
            answers = super().__call__(missing)
            trusted = self._stops == stops  # no timeout replaced the process meanwhile
            new = {n: a for n, a in zip(missing, answers, strict=True)
                   if a is not None or trusted}
            with self._known_lock:
                known.update(new)
                self._save(new)
            found = dict(zip(missing, answers, strict=True))
            return [known[n] if n in known else found[n] for n in names]
        return [known[n] for n in names]

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.store_path, timeout=2.0)
        con.execute("CREATE TABLE IF NOT EXISTS names (name TEXT PRIMARY KEY, smiles TEXT)")
        return con

    def _load(self) -> dict[str, str | None]:
        if self._known is None:
            self._known = {}
            if not self.store_path.is_file():
                return self._known
            try:
                with closing(self._connect()) as con:
                    self._known = dict(con.execute("SELECT name, smiles FROM names"))
            except sqlite3.DatabaseError as exc:  # not a database: start it again
                _log.warning("%s: unreadable (%s); starting it again", self.store_path, exc)
                with suppress(OSError):
                    self.store_path.unlink()
            except OSError:
                pass  # no cache folder: answers are kept for this process only
        return self._known

    def _save(self, new: dict[str, str | None]) -> None:
        if not new:
            return
        try:
            self.store_path.parent.mkdir(parents=True, exist_ok=True)
            with closing(self._connect()) as con, con:
                con.executemany("INSERT OR REPLACE INTO names VALUES (?, ?)", new.items())
        except (sqlite3.Error, OSError) as exc:  # locked by another worker, read-only: later
            _log.info("%s: answers not stored (%s)", self.store_path, exc)
