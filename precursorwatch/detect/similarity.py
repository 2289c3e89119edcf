"""Last resort: Morgan-fingerprint similarity to the listed fentanyl precursors gives `watch`.

Similarity never makes a substance `designer` or `controlled`: it only says "this looks like
NPP (Tanimoto 0.71) and no known step explains it", so an analyst takes a look.

Threshold: 0.52 (Morgan radius 2, 2048 bits, Tanimoto). Chosen on the case tables in
tests/detect/cases_designer.py: the ring-halogenated and N-substituted analogues of the listed
precursors that no class rule or known step covers score 0.55-0.81 to their nearest listed
precursor, while the everyday piperidines and medicines that must stay clear score at most 0.48
(4-phenylpiperidine to 4-AP; haloperidol 0.19, loperamide 0.26, donepezil 0.35, isonipecotic
acid 0.32, pethidine 0.30). 0.52 sits in that gap; `tests/detect/test_similarity.py` pins both
sides so a change of lists or threshold that closes the gap fails a test.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass

from rdkit import Chem, DataStructs
from rdkit.Chem import rdFingerprintGenerator

from precursorwatch.chem.structure import Structure, StructureError, from_smiles, to_mol
from precursorwatch.controls.model import ControlSet, Listing, Substance
from precursorwatch.detect.lookup import per_control_set
from precursorwatch.detect.verdict import Match

DEFAULT_THRESHOLD = 0.52
RADIUS = 2
N_BITS = 2048

_generator = rdFingerprintGenerator.GetMorganGenerator(radius=RADIUS, fpSize=N_BITS)


def morgan_fingerprint(structure: Structure) -> DataStructs.ExplicitBitVect:
    """Morgan fingerprint (radius 2, 2048 bits) of the standardised parent."""
    return _generator.GetFingerprint(to_mol(structure))


def mol_fingerprint(mol: Chem.Mol) -> DataStructs.ExplicitBitVect:
    """The same fingerprint of an already parsed molecule (catalogue pre-screens)."""
    return _generator.GetFingerprint(mol)


@dataclass(frozen=True, slots=True)
class Reference:
    """A listed fentanyl precursor with its fingerprint and the listings that name it."""

    substance: Substance
    structure: Structure
    fingerprint: DataStructs.ExplicitBitVect
    listings: tuple[Listing, ...]


def is_fentanyl_related(substance: Substance) -> bool:
    """A fentanyl precursor or pre-precursor, or a fentanyl itself (by role or name)."""
    # Precursors and pre-precursors of fentanyl, and the fentanyls themselves; not the
    # acylating or alkylating reagents, whose small structures say little by similarity.
    role = substance.role.lower()
    return ("fentanyl" in role and "precursor" in role) or "fentanil" in substance.name.lower() \
        or "fentanyl" in substance.name.lower()


def _build_references(controls: ControlSet) -> tuple[Reference, ...]:
    """Listed (effect "control") fentanyl precursors and fentanyl itself, fingerprinted once."""
    out: list[Reference] = []
    candidates = [s for s in controls.substances if is_fentanyl_related(s)]
    for substance in candidates:
        listings = tuple(x for x in controls.listings_for(substance.id) if x.effect == "control")
        if not listings:
            continue
        try:
            structure = from_smiles(substance.smiles)
        except StructureError:
            continue  # the controls tests report an unparsable entry; similarity skips it
        out.append(Reference(substance, structure, morgan_fingerprint(structure), listings))
    return tuple(out)


reference_set = per_control_set(_build_references)



def _pick_listing(
    listings: tuple[Listing, ...], as_of: dt.date, jurisdictions: Collection[str] | None
) -> Listing | None:
    usable = [
        x for x in listings
        if x.in_force(as_of) and (jurisdictions is None or x.jurisdiction in jurisdictions)
    ]
    # The earliest listing is the one analysts cite first ("UN Table I since 2017").
    return min(usable, key=lambda x: (x.jurisdiction != "UN", x.since)) if usable else None


# Per control set, date and jurisdictions: the references in force and their fingerprints, as
# the list the bulk Tanimoto takes (every structure of a batch is compared with the same ones).
_IN_FORCE: dict[tuple[int, dt.date, frozenset[str] | None],
                tuple[tuple[Reference, ...], list[DataStructs.ExplicitBitVect]]] = {}


def _references_in_force(
    controls: ControlSet, on: dt.date, jurisdictions: frozenset[str] | None
) -> tuple[tuple[Reference, ...], list[DataStructs.ExplicitBitVect]]:
    """References with a listing in force on `on` for the jurisdictions, and their
    fingerprints (cached per set)."""
    refs = reference_set(controls)
    key = (id(controls), on, jurisdictions)
    found = _IN_FORCE.get(key)
    if found is None:
        in_force = tuple(r for r in refs if _pick_listing(r.listings, on, jurisdictions))
        found = (in_force, [r.fingerprint for r in in_force])
        if len(_IN_FORCE) > 1000:
            _IN_FORCE.clear()
        _IN_FORCE[key] = found
    return found


def similarity_scores(
    fingerprint: DataStructs.ExplicitBitVect, references: tuple[Reference, ...]
) -> list[float]:
    """Tanimoto of one fingerprint to every reference, in reference order."""
    others = [r.fingerprint for r in references]
    return list(DataStructs.BulkTanimotoSimilarity(fingerprint, others))


def nearest_listed(
    structure: Structure,
    controls: ControlSet,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    as_of: dt.date | None = None,
    jurisdictions: Collection[str] | None = None,
    fingerprint: DataStructs.ExplicitBitVect | None = None,
) -> Match | None:
    """The nearest listed fentanyl precursor at Tanimoto >= `threshold`, as a `watch` Match.

    Basis "similarity", effect "watch", `score` the Tanimoto, `substance` the nearest listed
    substance and the listing it is on (in force on `as_of`, for `jurisdictions`). None when
    nothing listed is that close. The structure itself being listed is the caller's concern.
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], not {threshold}")
    on = as_of or dt.date.today()
    references, fingerprints = _references_in_force(
        controls, on, frozenset(jurisdictions) if jurisdictions else None
    )
    if not references:
        return None
    fp = fingerprint if fingerprint is not None else morgan_fingerprint(structure)
    scores = DataStructs.BulkTanimotoSimilarity(fp, fingerprints)
    score = max(scores)
    best = scores.index(score)  # the first of equals, as before
    if score < threshold:
        return None
    ref = references[best]
    listing = _pick_listing(ref.listings, on, jurisdictions)
    assert listing is not None  # filtered above
    name = ref.substance.name
    return Match(
        substance=name,
        jurisdiction=listing.jurisdiction,
        list=listing.list,
        category=listing.category,
        since=listing.since.isoformat(),
        until=listing.until.isoformat() if listing.until else None,
        basis="similarity",
        explanation=(
            f"structurally close to {name} (Morgan radius {RADIUS}, {N_BITS} bits, Tanimoto "
            f"{score:.2f} >= {threshold:.2f}), which is listed in {listing.jurisdiction} "
            f"{listing.list} since {listing.since.isoformat()}; no known one-step route: "
            "kept under watch"
        ),
        source=listing.source,
        legal_reference=listing.legal_reference,
        effect="watch",
        score=round(score, 4),
        verification=listing.verification,
    )
