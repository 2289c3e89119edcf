"""The general chemical vocabulary: about 76,000 compounds from the `chemicals` package.

The `chemicals` package (MIT) ships identifier tables derived from PubChem: for each compound
its PubChem id, CAS number, SMILES, InChIKey, IUPAC name, common name and synonyms (PubChem
synonyms include further CAS numbers: salts, hydrates and retired numbers of the same
compound). Reading the 43 MB table takes seconds, so it is read once into an SQLite index in the
user's cache folder; later processes open that file and look keys up on disk (tens of
microseconds each, about 1 MB of memory). The index is keyed by the package version, the
name normaliser (`names.name_key`) and this module's schema, so it is rebuilt when any of
them changes; it is written to a temporary file and renamed, so concurrent processes never
see half a file.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import importlib.util
import logging
import os
import sqlite3
import tempfile
import threading
import types
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

from precursorwatch.chem import names as _names
from precursorwatch.chem.cas import CasError, looks_like_cas, parse_cas
from precursorwatch.chem.names import name_key

_log = logging.getLogger(__name__)

# Bumped when the layout of the index or what goes into it changes.
SCHEMA_VERSION = 2
SOURCE_LABEL = "the PubChem-derived table of the chemicals package"

# Files of chemicals/Identifiers read, most trusted first: the small curated tables win over
# the large one where both give the same CAS number or name.
_TABLES = (
    "chemical identifiers pubchem small.tsv",
    "chemical identifiers example user db.tsv",
    "Inorganic db.tsv",
    "chemical identifiers pubchem large.tsv",
)

HitKind = Literal["name", "synonym", "cas", "secondary-cas", "inchikey", "skeleton"]
# Rank of a name or CAS number within its record: the common name and the record's own CAS
# number (0), then the IUPAC name (1), say more than one of its many synonyms (2).
_PRIMARY, _IUPAC, _SECONDARY = 0, 1, 2


@dataclass(frozen=True, slots=True)
class VocabularyEntry:
    """One compound of the table, as the table gives it (SMILES may include counter-ions)."""

    pubchem: int | None
    cas: str | None
    smiles: str
    inchikey: str
    name: str  # common name as the table writes it (mostly lower case)
    iupac: str | None


@dataclass(frozen=True, slots=True)
class VocabularyHit:
    """The compound a key leads to, how, and any other compounds the same key leads to at the
    same rank (first by PubChem id, so the oldest, usually best-known, record first)."""

    entry: VocabularyEntry
    how: HitKind
    alternatives: tuple[VocabularyEntry, ...] = ()


def cache_root() -> Path:
    """Where the index lives: $PRECURSORWATCH_CACHE, else $XDG_CACHE_HOME/precursorwatch, else
    ~/.cache/precursorwatch."""
    explicit = os.environ.get("PRECURSORWATCH_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "precursorwatch"


def chemicals_version() -> str:
    try:
        return importlib.metadata.version("chemicals")
    except importlib.metadata.PackageNotFoundError:
        return "absent"


# Names that exercise every rule of the normaliser (case, spacing, punctuation, Greek letters,
# protecting groups, locants, salt words, full-width and accented characters).
_PROBES = (
    "N-Phenethyl-4-piperidone", "1-Boc-4-AP", "tert-butoxycarbonyl", "N-BOC-4-piperidone",
    "t-butyloxycarbonyl", "1-N-Boc", "Cbz-Cl", "Z-Gly", "α-methylfentanyl", "β-Hydroxy",
    "Δ9-THC", "ω-3", "μ-oxo", "4,4'-biphenyldiisocyanate", "(±)-ephedrine", "(1R,2S)-x",
    "d-(-)-ephedrine HCl", "4-Piperidone HCl H2O", "sodium;chloride", "2,3-bis(oxidanyl)",
    "Ｎ－ｐｈｅｎｙｌ", "Ä ö ü ß é ñ ç", "ethyl  acetate", "acetic\tacid", "N,N-dimethyl",
    "1,2-DCE", "4-AP dihydrochloride", "dl-lactic acid", "cis/trans", "[1,1'-biphenyl]",
    "n-butyl", "sec-butyl", "iso-propyl", "p-toluidine", "o-xylene", "5.beta.-androstan",
    "芬太尼", "fentanilo", "L-(+)-tartaric acid", "polyethylene glycol 400", "", "-",
)


def _code_text(code: types.CodeType) -> str:
    """Bytecode, names and constants; nested code (comprehensions) by content, since its repr
    carries a memory address that changes from one process to the next."""
    return repr((code.co_code, code.co_names, [_const_text(c) for c in code.co_consts]))


def _const_text(value: object) -> str:
    # Sets are ordered by hash, which changes with each process's hash seed.
    if isinstance(value, types.CodeType):
        return _code_text(value)
    if isinstance(value, frozenset | set):
        return "{" + ",".join(sorted(_const_text(v) for v in value)) + "}"
    if isinstance(value, tuple):
        return "(" + ",".join(_const_text(v) for v in value) + ")"
    return repr(value)


def normaliser_version() -> str:
    """A fingerprint of the name normaliser: its declared version (if it declares one), the
    source of its functions and what it makes of a set of probe names. A change in how names
    are keyed rebuilds the index; a change elsewhere in the names module does not."""
    parts = [str(getattr(_names, "NORMALISER_VERSION", ""))]
    for fn in ("name_key", "tokens", "_fold"):
        obj = getattr(_names, fn, None)
        code = getattr(obj, "__code__", None)
        if isinstance(code, types.CodeType):
            parts.append(_code_text(code))
    parts.extend(name_key(p) for p in _PROBES)
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:12]


def table_folder() -> Path | None:
    # Found without importing the package (which would import numpy and scipy: ~0.3 s).
    try:
        spec = importlib.util.find_spec("chemicals")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin:
        return None
    return Path(spec.origin).parent / "Identifiers"


def default_sources() -> tuple[Path, ...]:
    folder = table_folder()
    if folder is None:
        return ()
    return tuple(p for p in (folder / t for t in _TABLES) if p.is_file())


def version_key(sources: Sequence[Path]) -> str:
    """What the index was built from; a different key means a different file."""
    parts = [f"schema{SCHEMA_VERSION}", f"chemicals{chemicals_version()}",
             f"names{normaliser_version()}", *(f"{p.name}:{_size(p)}" for p in sources)]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return -1


# -- reading the table ------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Row:
    pubchem: int | None
    cas: str | None
    smiles: str
    inchikey: str
    name: str
    iupac: str | None
    names: tuple[str, ...]  # common name, IUPAC name, then synonyms (CAS-like ones excluded)
    extra_cas: tuple[str, ...]  # CAS numbers among the synonyms


def read_table(path: Path) -> Iterator[_Row]:
    """Rows of one identifier table: pubchem, CAS, formula, MW, SMILES, InChI, InChIKey, IUPAC
    name, common name, synonyms... (tab separated, the layout `chemicals.identifiers` reads).
    Rows without a structure are skipped: a name is only useful here with one."""
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            cols = line.rstrip("\n").split("\t")
            if len(cols) < 9 or not cols[4] or not cols[6]:
                continue
            try:
                pubchem: int | None = int(cols[0])
            except ValueError:
                continue  # a header line
            if pubchem is not None and pubchem < 0:
                pubchem = None
            cas = _valid_cas(cols[1])
            names: list[str] = []
            extra: list[str] = []
            for syn in cols[7:]:
                syn = syn.strip()
                if not syn:
                    continue
                if looks_like_cas(syn):
                    other = _valid_cas(syn)
                    if other and other != cas:
                        extra.append(other)
                    continue
                names.append(syn)
            # cols[7] is the IUPAC name, cols[8] the common name: common name first, then the
            # IUPAC name, then the synonyms (the index relies on this order).
            ordered = [cols[8], cols[7], *names] if cols[8] else names
            yield _Row(pubchem, cas, cols[4], cols[6], cols[8] or cols[7], cols[7] or None,
                       tuple(dict.fromkeys(n for n in ordered if n)), tuple(dict.fromkeys(extra)))


def _valid_cas(text: str) -> str | None:
    try:
        return parse_cas(text).text
    except CasError:
        return None


_SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE compound(id INTEGER PRIMARY KEY, pubchem INTEGER, cas TEXT, smiles TEXT NOT NULL,
                      inchikey TEXT NOT NULL, skeleton TEXT NOT NULL, name TEXT NOT NULL,
                      iupac TEXT);
CREATE TABLE name(key TEXT NOT NULL, rank INTEGER NOT NULL, compound INTEGER NOT NULL,
                  PRIMARY KEY(key, compound)) WITHOUT ROWID;
CREATE TABLE cas(cas TEXT NOT NULL, rank INTEGER NOT NULL, compound INTEGER NOT NULL,
                 PRIMARY KEY(cas, compound)) WITHOUT ROWID;
"""
_INDEXES = """
CREATE INDEX compound_inchikey ON compound(inchikey);
CREATE INDEX compound_skeleton ON compound(skeleton);
"""


def build_index(path: Path, sources: Sequence[Path], key: str) -> None:
    """Write the index for `sources` to `path` (atomically: a temporary file, then a rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        con = sqlite3.connect(tmp)
        try:
            con.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;" + _SCHEMA)
            _fill(con, sources)
            con.executescript(_INDEXES)
            con.execute("INSERT INTO meta VALUES ('version', ?)", (key,))
            con.commit()
            con.execute("VACUUM")
        finally:
            con.close()
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _fill(con: sqlite3.Connection, sources: Sequence[Path]) -> None:
    # A record's names come best first (common name, IUPAC name, synonyms), so the first row
    # kept for a (key, compound) pair has its best rank; the database drops the rest.
    add_name = "INSERT OR IGNORE INTO name VALUES (?,?,?)"
    add_cas = "INSERT OR IGNORE INTO cas VALUES (?,?,?)"
    seen_inchikeys: set[str] = set()
    next_id = 0
    for source in sources:
        for row in read_table(source):
            if row.inchikey in seen_inchikeys:
                continue  # the same compound in a more trusted table already
            seen_inchikeys.add(row.inchikey)
            next_id += 1
            con.execute(
                "INSERT INTO compound VALUES (?,?,?,?,?,?,?,?)",
                (next_id, row.pubchem, row.cas, row.smiles, row.inchikey,
                 row.inchikey.split("-")[0], row.name, row.iupac),
            )
            con.executemany(add_name, (
                (k, _PRIMARY if nm == row.name else _IUPAC if nm == row.iupac else _SECONDARY,
                 next_id)
                for nm in row.names if (k := name_key(nm))))
            if row.cas:
                con.execute(add_cas, (row.cas, _PRIMARY, next_id))
            con.executemany(add_cas, ((extra, _SECONDARY, next_id) for extra in row.extra_cas))


# -- the vocabulary ---------------------------------------------------------------------------
class VocabularyUnavailable(RuntimeError):
    """The `chemicals` package is not installed: only the built-in names resolve."""


class Vocabulary:
    """Lookups in the general table. Nothing is read until the first lookup; then the index
    is opened (built first if missing, stale or unreadable). Thread-safe."""

    def __init__(self, cache_dir: Path | None = None, *,
                 sources: Sequence[Path] | None = None) -> None:
        self._cache_dir = cache_dir
        self._sources = tuple(sources) if sources is not None else None
        self._lock = threading.Lock()
        self._con: sqlite3.Connection | None = None
        self._pid = os.getpid()
        self._failed: str | None = None
        self.built = False  # whether this object had to build the index

    @property
    def sources(self) -> tuple[Path, ...]:
        return self._sources if self._sources is not None else default_sources()

    @property
    def path(self) -> Path:
        root = self._cache_dir or cache_root()
        return root / f"vocabulary-{version_key(self.sources)}.sqlite"

    @property
    def available(self) -> bool:
        return self._connection() is not None

    @property
    def problem(self) -> str | None:
        """Why the vocabulary could not be opened, if it could not."""
        self._connection()
        return self._failed

    # -- lookups --------------------------------------------------------------------------
    def by_cas(self, cas: str) -> VocabularyHit | None:
        rows = self._query(
            "SELECT c.rank, " + _COLS + " FROM cas c JOIN compound p ON p.id = c.compound "
            "WHERE c.cas = ?", (cas,))
        return _best(rows, {0: "cas", 2: "secondary-cas"})

    def by_name(self, text: str) -> VocabularyHit | None:
        return self.by_key(name_key(text))

    def by_key(self, key: str) -> VocabularyHit | None:
        if not key:
            return None
        rows = self._query(
            "SELECT n.rank, " + _COLS + " FROM name n JOIN compound p ON p.id = n.compound "
            "WHERE n.key = ?", (key,))
        return _best(rows, {0: "name", 1: "name", 2: "synonym"})

    def by_inchikey(self, inchikey: str) -> VocabularyHit | None:
        rows = self._query("SELECT 0, " + _COLS + " FROM compound p WHERE p.inchikey = ?",
                           (inchikey,))
        hit = _best(rows, {0: "inchikey"})
        if hit is not None:
            return hit
        rows = self._query("SELECT 0, " + _COLS + " FROM compound p WHERE p.skeleton = ?",
                           (inchikey.split("-")[0],))
        return _best(rows, {0: "skeleton"})

    def by_inchikeys(self, inchikeys: Iterable[str]) -> dict[str, VocabularyHit]:
        """The compounds with exactly these InChIKeys (as `by_inchikey` finds them, without
        its fall-back to the connectivity block), for a whole batch in a few queries."""
        keys = sorted(set(inchikeys))
        rows: list[tuple[Any, ...]] = []
        for start in range(0, len(keys), _KEYS_PER_QUERY):
            chunk = keys[start:start + _KEYS_PER_QUERY]
            rows += self._query(
                "SELECT 0, " + _COLS + " FROM compound p WHERE p.inchikey IN ("
                + ",".join("?" * len(chunk)) + ")", tuple(chunk))
        by_key: dict[str, list[tuple[Any, ...]]] = {}
        for row in rows:
            by_key.setdefault(str(row[4]), []).append(row)
        out: dict[str, VocabularyHit] = {}
        for key, found in by_key.items():
            hit = _best(found, {0: "inchikey"})
            if hit is not None:
                out[key] = hit
        return out

    def fuzzy_pairs(self, *, primary_only: bool = True) -> list[tuple[str, str]]:
        """(name key, InChIKey connectivity block) for the common names (every name with
        `primary_only=False`), for a typo matcher over the whole vocabulary."""
        sql = ("SELECT n.key, p.skeleton FROM name n JOIN compound p ON p.id = n.compound"
               + (" WHERE n.rank = 0" if primary_only else ""))
        return [(str(k), str(s)) for k, s in self._query(sql, ())]

    def size(self) -> int:
        rows = self._query("SELECT count(*) FROM compound", ())
        return int(rows[0][0]) if rows else 0

    def close(self) -> None:
        with self._lock:
            if self._con is not None:
                self._con.close()
            self._con = None

    # -- internals ------------------------------------------------------------------------
    def _query(self, sql: str, args: tuple[object, ...]) -> list[tuple[Any, ...]]:
        con = self._connection()
        if con is None:
            return []
        with self._lock:
            return con.execute(sql, args).fetchall()

    def _connection(self) -> sqlite3.Connection | None:
        if self._pid != os.getpid():
            # A forked worker must not use its parent's connection (SQLite forbids it): it
            # opens its own (the file is already built).
            self._con, self._pid, self._lock = None, os.getpid(), threading.Lock()
        if self._con is not None or self._failed is not None:
            return self._con
        with self._lock:
            if self._con is None and self._failed is None:
                try:
                    self._con = self._open()
                except VocabularyUnavailable as exc:
                    self._failed = str(exc)
        return self._con

    def _open(self) -> sqlite3.Connection:
        sources = self.sources
        if not sources:
            raise VocabularyUnavailable(
                "the chemicals package is not installed: only built-in names resolve")
        key = version_key(sources)
        path = self.path
        con = _open_checked(path, key)
        if con is not None:
            return con
        # Seen once per installation (and after an upgrade): say why this one is slow.
        _log.warning("building the index of the general chemical vocabulary (once; about "
                     "15 s of CPU) in %s", path.parent)
        try:
            build_index(path, sources, key)
        except OSError:
            # No writable cache folder: keep the index in memory for this process.
            mem = sqlite3.connect(":memory:", check_same_thread=False)
            mem.executescript(_SCHEMA)
            _fill(mem, sources)
            mem.executescript(_INDEXES)
            self.built = True
            return mem
        self.built = True
        _remove_stale(path)
        con = _open_checked(path, key)
        if con is None:
            raise VocabularyUnavailable(f"the vocabulary index {path} could not be read back")
        return con


_COLS = "p.pubchem, p.cas, p.smiles, p.inchikey, p.name, p.iupac"
# Well under SQLite's limit on bound parameters (999 in old builds).
_KEYS_PER_QUERY = 500


def _open_checked(path: Path, key: str) -> sqlite3.Connection | None:
    """The index at `path` if it is there, readable and built for `key`; else None (and a
    corrupt file is removed so it is rebuilt)."""
    if not path.is_file():
        return None
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True,
                              check_same_thread=False)
        try:
            found = con.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
            con.execute("SELECT 1 FROM name LIMIT 1").fetchone()
        except sqlite3.DatabaseError:
            con.close()
            raise
    except sqlite3.DatabaseError:
        with contextlib.suppress(OSError):
            path.unlink()
        return None
    if found is None or found[0] != key:
        con.close()
        return None
    # Pages are read through the OS page cache, shared by every process using the index.
    con.execute("PRAGMA mmap_size = 268435456")
    return con


def _remove_stale(current: Path) -> None:
    """Indexes built for other versions: no process will open them again."""
    for other in current.parent.glob("vocabulary-*.sqlite"):
        if other != current:
            with contextlib.suppress(OSError):
                other.unlink()


def _best(rows: list[tuple[Any, ...]], kinds: dict[int, HitKind]) -> VocabularyHit | None:
    if not rows:
        return None
    if len(rows) == 1:  # most keys lead to one compound: nothing to rank or tell apart
        return VocabularyHit(_entry(rows[0]), kinds[int(rows[0][0])])
    best_rank = min(int(r[0]) for r in rows)
    at_best = [_entry(r) for r in rows if r[0] == best_rank]
    at_best.sort(key=lambda e: (e.pubchem is None, e.pubchem or 0, e.inchikey))
    distinct: list[VocabularyEntry] = []
    for e in at_best:
        if all(e.inchikey != d.inchikey for d in distinct):
            distinct.append(e)
    return VocabularyHit(distinct[0], kinds[best_rank], tuple(distinct[1:]))


def _entry(row: tuple[Any, ...]) -> VocabularyEntry:
    _, pubchem, cas, smiles, inchikey, name, iupac = row
    return VocabularyEntry(
        pubchem=int(pubchem) if pubchem is not None else None,
        cas=str(cas) if cas else None, smiles=str(smiles), inchikey=str(inchikey),
        name=str(name), iupac=str(iupac) if iupac else None,
    )


@cache
def default_vocabulary() -> Vocabulary:
    """The process-wide vocabulary over the installed `chemicals` tables (opened lazily)."""
    return Vocabulary()
