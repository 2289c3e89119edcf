"""A small on-disk cache for data that is slow to build and fast to read back.

Each value is stored with the key it was built from, in the user's cache folder
(`$PRECURSORWATCH_CACHE_DIR`, else `$XDG_CACHE_HOME/precursorwatch`, else
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
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

_log = logging.getLogger(__name__)
_PROTOCOL = 5


def cache_dir() -> Path:
    """The folder the caches live in (not created here)."""
    if own := os.environ.get("PRECURSORWATCH_CACHE_DIR"):
        return Path(own)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "precursorwatch"


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


def cached(kind: str, key: object, build: Callable[[], T]) -> T:
    """The value stored for `key`, or `build()` (then stored). `key` is made of plain values
    (strings, numbers, tuples); the stored key must equal it exactly to be used."""
    path = cache_path(kind, key)
    try:
        with path.open("rb") as fh, no_gc():
            stored_key, value = pickle.load(fh)
        if stored_key == key:
            return value
        _log.info("%s: made for other input; rebuilding", path)
    except FileNotFoundError:
        pass
    except Exception as exc:  # any unreadable cache is rebuilt
        _log.warning("%s: unreadable cache (%s); rebuilding", path, type(exc).__name__)
    value = build()
    store(path, key, value)
    return value


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
