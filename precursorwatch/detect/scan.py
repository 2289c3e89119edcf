"""Screen a whole chemical catalogue (SMILES or SDF) for controlled, designer and watch compounds.

Most of a vendor catalogue has nothing to do with fentanyl, so every record is first parsed
without full sanitisation (atoms, bonds, checked valences, rings) and passes cheap pre-screens
on each of its fragments; only candidates are standardised and assessed:

1. identity: the molecular formula equals that of a listed substance, and so does the
   canonical SMILES without stereo (salts, hydrates and stereoisomers share the parent's);
2. the fentanyl route core (`designer.ROUTE_CORE_SMARTS`): a piperidine whose C4 carries a
   ketone, hydroxyl, ketal, enol ether, imine or an N-aryl amine or amide. Every fentanyl
   precursor, fentanyl, fentanyl family and class rule needs it, and no transformation
   creates it, so a molecule without it can be neither in a fentanyl family or class nor a
   designer precursor of any depth, and the reaction step never runs on it;
3. the other structure rules (other drugs' families), behind a small-ring test where their
   SMARTS need a 3- or 4-membered ring;
4. fingerprint: Morgan Tanimoto to a listed fentanyl precursor or fentanyl at or above the
   similarity threshold less a margin (the quick parse is not aromatised by RDKit's rules).
   Molecules without nitrogen skip it: every reference is a piperidine, and of 3,313 N-free
   molecules of the benchmark catalogue none came above 0.49.

Charged structures, and structures whose Kekulé rings cannot be made aromatic, go straight to
the full assessment. A candidate is assessed like `pwatch check` does: identity, salt,
stereoisomer and rule matches (`controlled`, or `watch` for watch-list entries), then routes of
up to `depth` steps to a fentanyl target (`designer`), then similarity (`watch`). Records are
spread over processes in chunks; only controlled, designer and watch compounds are written,
with their evidence. A record that does not parse, or has an impossible valence, is reported
with its line (SMILES) or record number (SDF) and skipped; a record that parses but cannot be
kekulised is reported only if it reaches the full assessment.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import json
import multiprocessing as mp
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TextIO

from rdkit import Chem, DataStructs
from rdkit.Chem import rdMolDescriptors
from rich.console import Console

from precursorwatch.chem.structure import (
    Structure,
    StructureError,
    from_smiles,
    parent_mol,
    standardise,
    to_mol,
)
from precursorwatch.controls.model import ControlSet
from precursorwatch.detect.classes import class_matches
from precursorwatch.detect.designer import fentanyl_targets, find_designer, route_core_in
from precursorwatch.detect.identity import identity_matches
from precursorwatch.detect.lookup import control_index
from precursorwatch.detect.similarity import (
    DEFAULT_THRESHOLD,
    mol_fingerprint,
    nearest_listed,
    reference_set,
)
from precursorwatch.detect.verdict import Match, VerdictName

ScanFormat = Literal["csv", "jsonl"]
CHUNK = 2000


CSV_COLUMNS = (
    "record", "name", "input", "smiles", "inchikey", "verdict", "basis", "substance",
    "jurisdiction", "list", "since", "rule", "steps", "score", "explanation", "evidence",
)


class ScanError(ValueError):
    """The catalogue cannot be scanned at all (missing file, bad option); the message says why."""


@dataclass(frozen=True, slots=True)
class Record:
    """One catalogue entry as read: where it was, its text (SMILES or molblock), its name."""

    number: int  # line number (SMILES) or record number (SDF), from 1
    text: str
    name: str
    kind: Literal["smiles", "molblock"]


@dataclass(frozen=True, slots=True)
class BadRecord:
    number: int
    reason: str
    where: str = "line"  # "line" for SMILES files, "record" for SDF

    def __str__(self) -> str:
        return f"{self.where} {self.number}: {self.reason}"


@dataclass(frozen=True, slots=True)
class Assessment:
    """The verdict for one structure and the evidence behind it."""

    verdict: VerdictName
    matches: tuple[Match, ...]


@dataclass(frozen=True, slots=True)
class Hit:
    record: int
    name: str
    input: str
    structure: Structure
    assessment: Assessment


@dataclass(slots=True)
class ScanSummary:
    """What a scan did: counts, the bad records, and the time taken."""

    records: int = 0
    candidates: int = 0
    written: int = 0
    verdicts: Counter[str] = field(default_factory=Counter)
    bad: list[BadRecord] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def per_second(self) -> float:
        return self.records / self.seconds if self.seconds > 0 else 0.0


# -- assessment (pure) ------------------------------------------------------------------------

def assess_structure(
    structure: Structure,
    controls: ControlSet,
    *,
    as_of: dt.date,
    jurisdictions: Collection[str] | None = None,
    depth: int = 1,
    threshold: float = DEFAULT_THRESHOLD,
    name: str | None = None,
) -> Assessment:
    """controlled > designer > watch > clear, with the evidence that decided it.

    A substance that is itself controlled is never called designer; routes are looked for only
    when nothing in force lists it. Similarity is the last resort and only gives `watch`.
    """
    index = control_index(controls)
    # One molecule for the rules and the fingerprint: for a structure just made, the one
    # standardisation made (nothing restored or read again).
    mol = parent_mol(structure)
    found = identity_matches(structure, index, as_of=as_of, jurisdictions=jurisdictions)
    found += class_matches(structure, index, as_of=as_of, jurisdictions=jurisdictions, mol=mol)
    control = tuple(m for m in found if m.effect == "control")
    watch = tuple(m for m in found if m.effect == "watch")
    if control:
        return Assessment("controlled", control + watch)
    routes = find_designer(structure, controls, as_of=as_of, jurisdictions=jurisdictions,
                           depth=depth, name=name)
    if routes:
        return Assessment("designer", tuple(routes) + watch)
    if watch:
        return Assessment("watch", watch)
    near = nearest_listed(structure, controls, threshold=threshold, as_of=as_of,
                          jurisdictions=jurisdictions, fingerprint=mol_fingerprint(mol))
    if near is not None:
        return Assessment("watch", (near,))
    return Assessment("clear", ())


# -- pre-screen ---------------------------------------------------------------------------------

SIMILARITY_MARGIN = 0.05  # the quick fingerprint is of the unsanitised molecule: leave slack


@dataclass(frozen=True, slots=True)
class Screen:
    """What the pre-screen compares against, built once per process."""

    formulas: frozenset[str]  # molecular formulas of listed substances
    heavy_counts: frozenset[int]
    skeletons: frozenset[str]  # their canonical SMILES without stereo
    # Rules outside the fentanyl gate (other drugs' families), each with the small ring sizes
    # (3, 4) its SMARTS needs: a molecule without such a ring cannot match.
    gated_patterns: tuple[tuple[Chem.Mol, frozenset[int]], ...]
    fingerprints: tuple[DataStructs.ExplicitBitVect, ...]
    threshold: float


def _query_small_rings(pattern: Chem.Mol) -> frozenset[int]:
    """The 3- and 4-membered rings a rule's SMARTS writes out (any match has them)."""
    query = Chem.Mol(pattern)
    query.UpdatePropertyCache(strict=False)
    Chem.FastFindRings(query)
    return frozenset(len(r) for r in query.GetRingInfo().AtomRings() if len(r) <= 4)


def build_screen(controls: ControlSet, threshold: float) -> Screen:
    """The pre-screen for a ControlSet: listed formulas and skeletons, the rules outside the
    fentanyl gate, and the fingerprints `nearest_listed` compares with."""
    index = control_index(controls)
    listed = list(index.structures.values())
    formulas = frozenset(s.formula for s in listed)
    heavy = frozenset(to_mol(s).GetNumHeavyAtoms() for s in listed)
    skeletons = frozenset(Chem.MolToSmiles(to_mol(s), isomericSmiles=False) for s in listed)
    fentanyl_rules = fentanyl_targets(controls).rules
    others = tuple((c.pattern, _query_small_rings(c.pattern)) for c in index.rules
                   if c.rule.id not in fentanyl_rules)
    fps = tuple(r.fingerprint for r in reference_set(controls))
    return Screen(formulas, heavy, skeletons, others, fps, threshold)


def _same_skeleton(mol: Chem.Mol, screen: Screen) -> bool:
    """Same formula as a listed substance: is it the same structure (stereo aside)?"""
    full = Chem.Mol(mol)
    try:
        Chem.SanitizeMol(full)
    except (ValueError, RuntimeError):
        return True  # let the full assessment report why it cannot be read
    return Chem.MolToSmiles(full, isomericSmiles=False) in screen.skeletons


def quick_parse(text: str, kind: Literal["smiles", "molblock"] = "smiles") -> Chem.Mol:
    """Parse without the costly sanitisation steps (aromaticity, kekulisation): the atoms,
    bonds, valences (checked) and rings, enough for the pre-screens. Raises StructureError."""
    if kind == "smiles":
        if not text:
            raise StructureError("empty SMILES")
        mol = Chem.MolFromSmiles(text, sanitize=False)
        if mol is None:
            raise StructureError(f"unparsable SMILES: {text[:80]!r}")
    else:
        mol = Chem.MolFromMolBlock(text, sanitize=False)
        if mol is None:
            raise StructureError("unparsable molblock")
    if mol.GetNumAtoms() == 0:
        raise StructureError("empty structure")
    try:
        mol.UpdatePropertyCache(strict=True)
    except (ValueError, RuntimeError) as exc:  # RDKit's valence error
        raise StructureError(f"impossible valence: {str(exc).splitlines()[0][:120]}") from None
    Chem.FastFindRings(mol)
    return mol


# Each RDKit substructure call costs a few microseconds however small the query, so what the
# SMILES text already says (fragments, charges, aromatic lower-case atoms, nitrogen) is read
# from the text; molblocks, which say none of it, use the molecule.
_BRACKET_CHARGE = re.compile(r"\[[^\]]*[+-]")
_AROMATIC_LETTER = re.compile(r"[cnosp]")


@dataclass(frozen=True, slots=True)
class _Hints:
    fragments: bool
    charged: bool
    kekule: bool  # ring double bonds and no aromatic atom: aromatic rings in Kekulé form
    nitrogen: bool


def _hints_from_smiles(smiles: str) -> _Hints:
    return _Hints(
        fragments="." in smiles,
        charged=_BRACKET_CHARGE.search(smiles) is not None,
        kekule="=" in smiles and _AROMATIC_LETTER.search(smiles) is None,
        nitrogen="N" in smiles or "n" in smiles,
    )


def _hints_from_mol(mol: Chem.Mol) -> _Hints:
    atoms = list(mol.GetAtoms())
    return _Hints(
        fragments=len(Chem.GetMolFrags(mol)) > 1,
        charged=any(a.GetFormalCharge() for a in atoms),
        kekule=not any(a.GetIsAromatic() for a in atoms) and any(
            b.GetBondType() == Chem.BondType.DOUBLE and b.IsInRing() for b in mol.GetBonds()),
        nitrogen=any(a.GetAtomicNum() == 7 for a in atoms),
    )


def _screenable(mol: Chem.Mol, hints: _Hints) -> list[Chem.Mol] | None:
    """The molecules the pre-screens look at: each fragment of a salt or mixture (the listed
    base of a salt may be smaller than its counter-acid: piperidine citrate), made aromatic
    when written in Kekulé form. None when only the full assessment can say (charged atoms,
    whose neutral parent differs; or no sanitisation possible)."""
    if hints.charged:
        return None
    parts = [mol]
    if hints.fragments:
        parts = list(Chem.GetMolFrags(mol, asMols=True, sanitizeFrags=False))
        # Beside an organic fragment, a carbon-free one is a counter-ion or water (the HCl
        # of a hydrochloride is not hydrochloric acid).
        organic = [f for f in parts if any(a.GetAtomicNum() == 6 for a in f.GetAtoms())]
        parts = organic or parts
        for part in parts:
            part.UpdatePropertyCache(strict=False)
            Chem.FastFindRings(part)
    if hints.kekule:
        sanitised = []
        for part in parts:
            full = Chem.Mol(part)
            try:
                Chem.SanitizeMol(full)
            except (ValueError, RuntimeError):
                return None
            sanitised.append(full)
        return sanitised
    return parts


def _ring_sizes(mol: Chem.Mol) -> frozenset[int]:
    return frozenset(len(r) for r in mol.GetRingInfo().AtomRings())


def is_candidate(mol: Chem.Mol, screen: Screen, smiles: str | None = None) -> bool:
    """True when the full assessment could find something; False only when it cannot.

    `mol` may be unsanitised (from `quick_parse`); `smiles`, when the record was SMILES, lets
    cheap text tests replace some substructure calls. The pre-screens look at every fragment
    of a salt or mixture; charged structures always go on to the full assessment.
    """
    hints = _hints_from_smiles(smiles) if smiles is not None else _hints_from_mol(mol)
    parts = _screenable(mol, hints)
    if parts is None:
        return True
    return any(_part_is_candidate(part, screen, hints) for part in parts)


def _part_is_candidate(mol: Chem.Mol, screen: Screen, hints: _Hints) -> bool:
    if (mol.GetNumHeavyAtoms() in screen.heavy_counts
            and rdMolDescriptors.CalcMolFormula(mol) in screen.formulas
            and _same_skeleton(mol, screen)):
        return True
    # The fentanyl gate: every fentanyl family and class rule and every route needs it.
    if hints.nitrogen and route_core_in(mol):
        return True
    if screen.gated_patterns:
        sizes = _ring_sizes(mol)
        for pattern, rings in screen.gated_patterns:
            if rings <= sizes and mol.HasSubstructMatch(pattern):
                return True
    if not hints.nitrogen:
        return False  # every fingerprint reference is a piperidine: nothing N-free is near
    fp = mol_fingerprint(mol)
    floor = screen.threshold - SIMILARITY_MARGIN
    return bool(max(DataStructs.BulkTanimotoSimilarity(fp, screen.fingerprints), default=0.0)
                >= floor)


# -- reading ------------------------------------------------------------------------------------

def _looks_like_sdf(path: Path) -> bool:
    return path.suffix.lower() in {".sdf", ".sd", ".mol"}


def read_smiles(lines: Iterable[str]) -> Iterator[Record]:
    """SMILES, optionally followed by a name (whitespace, comma or tab separated).

    Blank lines and lines starting with '#' are skipped; a first line whose first field is
    "smiles" is a header.
    """
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        for sep in ("\t", ",", None):
            parts = line.split(sep, 1)
            if len(parts) == 2 or sep is None:
                break
        smiles = parts[0].strip()
        name = parts[1].strip() if len(parts) > 1 else ""
        if number == 1 and smiles.lower() in {"smiles", "canonical_smiles", "structure"}:
            continue
        yield Record(number, smiles, name, "smiles")


def read_sdf(lines: Iterable[str]) -> Iterator[Record]:
    """SDF records separated by '$$$$'; the name is the first line of the molblock."""
    block: list[str] = []
    number = 0
    for raw in lines:
        if raw.startswith("$$$$"):
            number += 1
            text = "".join(block)
            if text.strip():
                yield Record(number, text, block[0].strip() if block else "", "molblock")
            block = []
        else:
            block.append(raw)
    if "".join(block).strip():
        number += 1
        yield Record(number, "".join(block), block[0].strip(), "molblock")


def read_catalogue(path: Path) -> Iterator[Record]:
    """Records of a SMILES (.smi, .txt, .csv, ...) or SDF (.sdf, .sd) file.

    The file is checked and opened now, so a missing or unreadable file is a ScanError before
    anything is written; records are read lazily.
    """
    if not path.exists():
        raise ScanError(f"{path}: no such file")
    if path.is_dir():
        raise ScanError(f"{path}: is a directory, not a catalogue file")
    try:
        handle = path.open(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise ScanError(f"{path}: cannot read: {exc.strerror or exc}") from None
    reader = read_sdf if _looks_like_sdf(path) else read_smiles
    return _closing(handle, reader)


def _closing(handle: TextIO, reader: Callable[[Iterable[str]], Iterator[Record]]) -> Iterator[
    Record
]:
    with handle:
        yield from reader(handle)


# -- workers ------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Options:
    as_of: dt.date
    jurisdictions: frozenset[str] | None
    depth: int
    threshold: float


_STATE: dict[str, object] = {}


def _init_worker(controls: ControlSet, options: _Options) -> None:
    _STATE["controls"] = controls
    _STATE["options"] = options
    _STATE["screen"] = build_screen(controls, options.threshold)


def _full_structure(record: Record, mol: Chem.Mol) -> Structure:
    """Sanitise and standardise a candidate; raises StructureError with the reason."""
    if record.kind == "smiles":
        return from_smiles(record.text)
    full = Chem.Mol(mol)
    try:
        Chem.SanitizeMol(full)
    except (ValueError, RuntimeError) as exc:
        raise StructureError(f"cannot sanitise: {str(exc).splitlines()[0][:120]}") from None
    return standardise(full)


def _screen_chunk(records: Sequence[Record]) -> tuple[int, int, list[Hit], list[BadRecord]]:
    controls = _STATE["controls"]
    options = _STATE["options"]
    screen = _STATE["screen"]
    assert isinstance(controls, ControlSet)
    assert isinstance(options, _Options)
    assert isinstance(screen, Screen)
    hits: list[Hit] = []
    bad: list[BadRecord] = []
    candidates = 0
    for record in records:
        where = "line" if record.kind == "smiles" else "record"
        try:
            mol = quick_parse(record.text, record.kind)
            text = record.text if record.kind == "smiles" else None
            if not is_candidate(mol, screen, text):
                continue
            candidates += 1
            structure = _full_structure(record, mol)
        except (StructureError, ValueError, RuntimeError) as exc:
            bad.append(BadRecord(record.number, str(exc) or type(exc).__name__, where))
            continue
        try:
            assessment = assess_structure(
                structure, controls, as_of=options.as_of, jurisdictions=options.jurisdictions,
                depth=options.depth, threshold=options.threshold, name=record.name or None,
            )
        except (ValueError, RuntimeError) as exc:
            # An RDKit failure on one odd structure must not stop a catalogue run.
            why = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
            bad.append(BadRecord(record.number, f"could not be assessed: {why}", where))
            continue
        if assessment.verdict != "clear":
            text = record.text if record.kind == "smiles" else structure.smiles
            hits.append(Hit(record.number, record.name, text, structure, assessment))
    return len(records), candidates, hits, bad


def _chunks(records: Iterable[Record], size: int) -> Iterator[list[Record]]:
    chunk: list[Record] = []
    for record in records:
        chunk.append(record)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# -- writing ------------------------------------------------------------------------------------

def _steps_text(match: Match) -> str:
    if not match.steps:
        return ""
    return " | ".join(f"{s.transformation}: {s.reactant_smiles} -> {s.product_smiles}"
                      for s in match.steps)


def hit_object(hit: Hit) -> dict[str, object]:
    """The JSON object written for one hit (one line of JSONL)."""
    return {
        "record": hit.record,
        "name": hit.name or None,
        "input": hit.input,
        "smiles": hit.structure.smiles,
        "inchikey": hit.structure.inchikey,
        "verdict": hit.assessment.verdict,
        "matches": [m.model_dump(mode="json", exclude_none=True)
                    for m in hit.assessment.matches],
    }


def hit_row(hit: Hit) -> dict[str, object]:
    """The CSV row for one hit: the strongest match spelled out, all matches as JSON."""
    top = hit.assessment.matches[0]
    return {
        "record": hit.record,
        "name": hit.name,
        "input": hit.input,
        "smiles": hit.structure.smiles,
        "inchikey": hit.structure.inchikey,
        "verdict": hit.assessment.verdict,
        "basis": top.basis,
        "substance": top.substance,
        "jurisdiction": top.jurisdiction,
        "list": top.list,
        "since": top.since,
        "rule": top.rule or "",
        "steps": _steps_text(top),
        "score": "" if top.score is None else f"{top.score:.4f}",
        "explanation": top.explanation,
        "evidence": json.dumps([m.model_dump(mode="json", exclude_none=True)
                                for m in hit.assessment.matches], ensure_ascii=False),
    }


class _Writer:
    def __init__(self, stream: TextIO, fmt: ScanFormat) -> None:
        self.stream = stream
        self.fmt = fmt
        self.csv: csv.DictWriter[str] | None = None
        if fmt == "csv":
            self.csv = csv.DictWriter(stream, fieldnames=list(CSV_COLUMNS))
            self.csv.writeheader()

    def write(self, hit: Hit) -> None:
        if self.csv is not None:
            self.csv.writerow(hit_row(hit))
        else:
            self.stream.write(json.dumps(hit_object(hit), ensure_ascii=False) + "\n")


# -- entry point --------------------------------------------------------------------------------

def _default_controls() -> ControlSet:
    from precursorwatch.controls.load import load_controls

    return load_controls()


def _count_records(path: Path) -> int | None:
    """Rough total for the progress bar (lines or '$$$$' markers); None if unreadable."""
    try:
        with path.open("rb") as handle:
            if _looks_like_sdf(path):
                return sum(1 for line in handle if line.startswith(b"$$$$"))
            return sum(1 for _ in handle)
    except OSError:
        return None


def scan_catalogue(
    path: Path | str,
    *,
    out: Path | str | TextIO | None = None,
    format: ScanFormat = "csv",
    as_of: dt.date | None = None,
    jurisdictions: Collection[str] | None = None,
    depth: int = 1,
    processes: int | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    controls: ControlSet | None = None,
    progress: bool = True,
    chunk_size: int = CHUNK,
) -> ScanSummary:
    """Screen a SMILES or SDF catalogue; write controlled, designer and watch compounds.

    `out` is a path, an open text stream, or None for standard output. `processes` defaults to
    every core; 1 runs in this process. Bad records are collected in the summary (with their
    line or record number) and skipped. Raises ScanError only when the scan cannot start.
    """
    if format not in ("csv", "jsonl"):
        raise ScanError(f"unknown format {format!r}: use csv or jsonl")
    if depth < 0 or depth > 3:
        raise ScanError(f"depth must be between 0 and 3, not {depth}")
    if processes is not None and processes < 1:
        raise ScanError(f"processes must be at least 1, not {processes}")
    source = Path(path)
    records = read_catalogue(source)
    chosen = controls if controls is not None else _default_controls()
    options = _Options(as_of or dt.date.today(),
                       frozenset(jurisdictions) if jurisdictions else None, depth, threshold)
    workers = processes or os.cpu_count() or 1
    summary = ScanSummary()
    started = time.perf_counter()

    with contextlib.ExitStack() as stack:
        if out is None:
            stream: TextIO = sys.stdout
        elif isinstance(out, (str, Path)):
            stream = stack.enter_context(Path(out).open("w", encoding="utf-8", newline=""))
        else:
            stream = out
        writer = _Writer(stream, format)
        results = _run(records, chosen, options, workers, chunk_size)
        for done, candidates, hits, bad in _with_progress(results, source, progress):
            summary.records += done
            summary.candidates += candidates
            summary.bad.extend(bad)
            for hit in hits:
                writer.write(hit)
                summary.written += 1
                summary.verdicts[hit.assessment.verdict] += 1
    summary.seconds = time.perf_counter() - started
    return summary


_Result = tuple[int, int, list[Hit], list[BadRecord]]


def _run(records: Iterator[Record], controls: ControlSet, options: _Options, workers: int,
         chunk_size: int) -> Iterator[_Result]:
    chunks = _chunks(records, chunk_size)
    if workers == 1:
        _init_worker(controls, options)
        yield from (_screen_chunk(c) for c in chunks)
        return
    context = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    with context.Pool(workers, initializer=_init_worker, initargs=(controls, options)) as pool:
        yield from pool.imap(_screen_chunk, chunks)


def _with_progress(results: Iterator[_Result], source: Path, show: bool) -> Iterator[_Result]:
    if not show:
        yield from results
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    total = _count_records(source)
    columns = (TextColumn("[bold]scan[/bold] {task.description}"), BarColumn(),
               MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=_stderr_console(), transient=False) as bar:
        task = bar.add_task(source.name, total=total)
        done = 0
        for result in results:
            done += result[0]
            bar.advance(task, result[0])
            yield result
        # The total was a line count (headers, blank lines, comments included): end at 100 %.
        bar.update(task, total=done, completed=done)


def _stderr_console() -> Console:
    return Console(file=sys.stderr)


# Skipped records named one by one in the summary; the rest are counted.
SHOW_SKIPPED = 20


def write_summary(summary: ScanSummary, stream: TextIO | None = None) -> None:
    """A short human summary: counts, speed, and every bad record with its number."""
    target = stream or sys.stderr
    buf = io.StringIO()
    verdicts = ", ".join(f"{k} {v}" for k, v in sorted(summary.verdicts.items())) or "none"
    buf.write(f"{summary.records} records, {summary.candidates} candidates after pre-screen, "
              f"{summary.written} written ({verdicts}), {len(summary.bad)} skipped, "
              f"{summary.per_second:,.0f} records/s\n")
    for bad in summary.bad[:SHOW_SKIPPED]:
        buf.write(f"skipped {bad}\n")
    if len(summary.bad) > SHOW_SKIPPED:
        buf.write(f"... and {len(summary.bad) - SHOW_SKIPPED} more skipped records\n")
    target.write(buf.getvalue())
