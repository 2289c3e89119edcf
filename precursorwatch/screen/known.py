"""The chemicals found in goods descriptions, kept between runs in the user's cache folder.

Manifests repeat their goods texts from one run to the next; what a description names (its
mentions, their verdicts and Contract 1 objects) depends only on the text, the code and data
that read and judge it, and the run's date and jurisdictions. Kept under a key of all of
those, a later run reads them back and starts neither RDKit, the lists nor OPSIN for texts
it has seen. Anything that changes the key (a list file, a line of the chemistry code, an
installed version, the general vocabulary's index, the date) gives a new, empty store.
"""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from precursorwatch.screen.diskcache import cache_dir, cache_path, code_version, prune, read, store
from precursorwatch.screen.rules import ChemicalFinding

# description -> (chemicals, CAS numbers with a bad check digit, Contract 1 objects, whether a
# chemical is of concern)
DescriptionEntry = tuple[tuple[ChemicalFinding, ...], tuple[str, ...], tuple[dict[str, Any], ...],
                         bool]
# declared CAS text -> (the chemical, or None with the reason it is not a CAS number)
DeclaredEntry = tuple[ChemicalFinding | None, str]

_KIND = "screen-chemicals"
# Descriptions kept at most; a run that adds more keeps its own first.
MAX_KEPT = 200_000
_PACKAGE = Path(__file__).resolve().parents[1]
# What reads and judges a description: the chemistry, detection and lists (code and data),
# and the screening code that finds mentions and turns verdicts into findings.
_SOURCES = ("chem", "detect", "controls")
_SCREEN_FILES = ("mentions.py", "engine.py", "rules.py", "config.py", "known.py")
_PACKAGES = ("rdkit", "py2opsin", "chemicals", "rapidfuzz", "anyascii", "pyyaml")


def description_entry(chosen: tuple[ChemicalFinding, ...], bad_cas: tuple[str, ...]
                      ) -> DescriptionEntry:
    return chosen, bad_cas, tuple(c.contract for c in chosen), any(c.of_concern for c in chosen)


def _files() -> list[Path]:
    found: list[Path] = []
    for sub in _SOURCES:
        found.extend(sorted(p for p in (_PACKAGE / sub).rglob("*")
                            if p.is_file() and "__pycache__" not in p.parts))
    found.extend(_PACKAGE / "screen" / name for name in _SCREEN_FILES)
    return found


def findings_version() -> str:
    """A digest of everything besides the text, date and jurisdictions that decides what a
    description names: source and data files, installed versions, the general vocabulary's
    index files, the OPSIN jar and whether Java is there to run it."""
    return _findings_version(cache_dir())


@cache
def _findings_version(folder: Path) -> str:
    outside: list[str] = []
    for index in sorted(folder.glob("vocabulary-*.sqlite")):
        st = index.stat()
        outside.append(f"{index.name}:{st.st_size}:{st.st_mtime_ns}")
    spec = importlib.util.find_spec("py2opsin")  # finds the jar without importing py2opsin
    for location in (spec.submodule_search_locations or []) if spec else []:
        outside.extend(f"{jar.name}:{jar.stat().st_size}" for jar in Path(location).glob("*.jar"))
    outside.append(f"java:{shutil.which('java') is not None}")
    return code_version(_files(), _PACKAGES) + ":" + "|".join(outside)


class KnownChemicals:
    """The findings stored under one key; `recall_*` fill a run's tables from them and
    `save` adds the run's new ones."""

    def __init__(self, key: tuple[object, ...]) -> None:
        self.key = key
        self._descriptions: dict[str, tuple[tuple[ChemicalFinding, ...], tuple[str, ...]]] = {}
        self._declared: dict[str, DeclaredEntry] = {}
        self._loaded = False

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        stored = read(_KIND, self.key, None)
        if isinstance(stored, tuple) and len(stored) == 2:
            self._descriptions, self._declared = stored

    def recall_descriptions(self, texts: Iterable[str], into: dict[str, DescriptionEntry]
                            ) -> list[str]:
        """Put the known texts' findings into `into`; return the texts not known."""
        self._load()
        missing = []
        for text in texts:
            found = self._descriptions.get(text)
            if found is None:
                missing.append(text)
            else:
                into[text] = description_entry(*found)
        return missing

    def recall_declared(self, texts: Iterable[str], into: dict[str, DeclaredEntry]
                        ) -> list[str]:
        """Put the known declared CAS texts' findings into `into`; return those not known."""
        self._load()
        missing = []
        for text in texts:
            found = self._declared.get(text)
            if found is None:
                missing.append(text)
            else:
                into[text] = found
        return missing

    def save(self, descriptions: Mapping[str, DescriptionEntry],
             declared: Mapping[str, DeclaredEntry]) -> None:
        """Store what this run found that the store lacks (nothing is written when nothing is
        new)."""
        self._load()
        new_desc = [d for d in descriptions if d not in self._descriptions]
        new_declared = [t for t in declared if t not in self._declared]
        if not new_desc and not new_declared:
            return
        kept = _newest(self._descriptions, {d: descriptions[d][:2] for d in new_desc})
        kept_declared = _newest(self._declared, {t: declared[t] for t in new_declared})
        store(cache_path(_KIND, self.key), self.key, (kept, kept_declared))
        prune(_KIND)
        self._descriptions, self._declared = kept, kept_declared


def _newest(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The old entries and the new, at most MAX_KEPT: the oldest go first."""
    if len(new) >= MAX_KEPT:
        return dict(list(new.items())[:MAX_KEPT])
    room = MAX_KEPT - len(new)
    old_items: Sequence[tuple[str, Any]] = list(old.items())
    if len(old_items) > room:
        old_items = old_items[len(old_items) - room:]
    return {**dict(old_items), **new}
