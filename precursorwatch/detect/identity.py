"""Is this structure a listed substance, a salt or hydrate of one, or a stereoisomer of one?"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from rdkit import Chem

from precursorwatch.chem.structure import Structure, StructureError, to_mol
from precursorwatch.controls.model import Listing, Substance
from precursorwatch.detect.lookup import ControlIndex
from precursorwatch.detect.verdict import Basis, Match, Threshold


def wanted(listing_jurisdiction: str, jurisdictions: Collection[str] | None) -> bool:
    return jurisdictions is None or listing_jurisdiction in jurisdictions


def listing_match(sub: Substance, listing: Listing, basis: Basis, explanation: str) -> Match:
    return Match(
        substance=sub.name,
        jurisdiction=listing.jurisdiction,
        list=listing.list,
        category=listing.category,
        since=listing.since.isoformat(),
        until=listing.until.isoformat() if listing.until else None,
        basis=basis,
        explanation=explanation,
        source=listing.source,
        legal_reference=listing.legal_reference,
        effect=listing.effect,
        verification=listing.verification,
        threshold=(Threshold(quantity=t.quantity, unit=t.unit, basis=t.basis,
                             reference=t.reference) if (t := listing.threshold) else None),
    )


def _explain(sub: Substance, listing: Listing, basis: Basis, salt_words: tuple[str, ...],
             *, component: bool = False) -> str:
    where = f"{listing.jurisdiction} {listing.list}"
    since = f"since {listing.since.isoformat()}"
    ref = f" ({listing.legal_reference})" if listing.legal_reference else ""
    verb = "is listed" if listing.effect == "control" else "is on the watch list"
    if component:
        what = "a stereoisomer of " if basis == "stereoisomer" else ""
        return (f"one component of this salt is {what}{sub.name}, which {verb} in "
                f"{where} {since}{ref}")
    if basis == "salt":
        words = ", ".join(salt_words) or "salt"
        return (f"{words} form of {sub.name}, which {verb} in {where} {since}{ref}; "
                "the listing extends to its salts and hydrates")
    if basis == "stereoisomer":
        return (f"a stereoisomer of {sub.name}, which {verb} in {where} {since}{ref}; "
                "the listing covers its stereoisomers")
    return f"{sub.name} {verb} in {where} {since}{ref}"


# An acid group and a basic nitrogen: two organic parts that pair as acid and base form a salt
# (phenylacetic acid with an amine, a phenol with methylamine); two that do not are a mixture,
# or a polymer or metal complex written in pieces ("adipic acid, polymer with 1,4-butanediol",
# "bis(toluene)titanium"), which is not the listed substance.
_ACID = Chem.MolFromSmarts(
    "[$([CX3](=O)[OX2H1,OX1-]),$([SX4](=O)(=O)[OX2H1,OX1-]),$([PX4](=O)[OX2H1,OX1-]),"
    "$(c[OX2H1,OX1-])]")
_BASE = Chem.MolFromSmarts(
    "[$([NX3;!$(N[C,S,P]=[O,S,N]);!$(N-a);!$(N-[N,O])]),$([NX4+]),$([nX2;r6])]")


def _has(component: Structure, pattern: Chem.Mol) -> bool:
    try:
        return bool(to_mol(component).HasSubstructMatch(pattern))
    except StructureError:
        return False


def _pairs_as_salt(structure: Structure, i: int) -> bool:
    """Component `i` and another component are an acid and a base (a salt of the two)."""
    parts = structure.components
    me = parts[i]
    others = [p for j, p in enumerate(parts) if j != i]
    return ((_has(me, _BASE) and any(_has(o, _ACID) for o in others))
            or (_has(me, _ACID) and any(_has(o, _BASE) for o in others)))


def _listed(component: Structure, index: ControlIndex) -> tuple[list[Substance], bool]:
    """Listed substances with this structure, else with its connectivity (stereo=True)."""
    exact = index.by_inchikey.get(component.inchikey, [])
    if exact:
        return exact, False
    return index.by_skeleton.get(component.skeleton_key, []), True


def identity_matches(
    structure: Structure,
    index: ControlIndex,
    *,
    as_of: dt.date,
    jurisdictions: Collection[str] | None = None,
    salt_words: tuple[str, ...] = (),
) -> list[Match]:
    """Listings in force on `as_of` for the substance itself, its salts, or its stereoisomers.

    Every component of a salt or mixture that could be the parent is checked (the parent first),
    so a listed base with an unusual counter-acid, or a listed solvent in a mixture, is found.
    """
    is_salt = bool(salt_words) or structure.is_salt_or_hydrate
    words = salt_words or structure.stripped
    out: list[Match] = []
    seen: set[str] = set()  # a substance is reported for the first component that is it
    for i, part in enumerate(structure.components):
        subs, stereo = _listed(part, index)
        # A listed part of a mixture (not paired as a salt) is named, as a watch, not as the
        # listed substance itself.
        mixture = i > 0 and bool(subs) and not _pairs_as_salt(structure, i)
        for sub in subs:
            if sub.id in seen:
                continue
            seen.add(sub.id)
            basis: Basis = ("stereoisomer" if stereo
                            else "salt" if (is_salt or i > 0) else "identity")
            for listing in index.controls.listings_for(sub.id):
                if not (listing.in_force(as_of) and wanted(listing.jurisdiction, jurisdictions)):
                    continue
                if mixture:
                    what = "a stereoisomer of " if stereo else ""
                    why = (f"a mixture, polymer or complex with a part that is {what}{sub.name}, "
                           f"which is listed in {listing.jurisdiction} {listing.list}; not the "
                           "listed substance itself (see the list's rules on mixtures)")
                    match = listing_match(sub, listing, basis, why)
                    out.append(match.model_copy(update={"effect": "watch"}))
                    continue
                why = _explain(sub, listing, basis, words, component=i > 0)
                out.append(listing_match(sub, listing, basis, why))
    return out


def listed_later(
    structure: Structure, index: ControlIndex, *, as_of: dt.date,
    jurisdictions: Collection[str] | None = None,
) -> list[Listing]:
    """Listings of this substance (or of another component of it) that are not in force on
    `as_of` (before or after)."""
    out: list[Listing] = []
    for part in structure.components:
        subs, _ = _listed(part, index)
        out += [
            x for sub in subs for x in index.controls.listings_for(sub.id)
            if not x.in_force(as_of) and wanted(x.jurisdiction, jurisdictions) and x not in out
        ]
    return out
