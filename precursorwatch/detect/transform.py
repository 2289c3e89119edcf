"""One-step transformations as cited data, and their application to a structure.

The transformations live in `data/transformations.yaml` as RDKit reaction SMARTS with a name a
chemist recognises and a citation. Applying them is pure: a SMILES in, the standardised
products out. A reaction runs only when its reactant template matches (a substructure
pre-screen), and results are cached by SMILES because catalogues repeat building blocks.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import yaml
from rdkit import Chem
from rdkit.Chem import rdChemReactions

from precursorwatch.chem.structure import Structure, StructureError, standardise

_REQUIRED = ("id", "name", "label", "smarts", "source")


class TransformationError(ValueError):
    """The transformations file is malformed; the message names the entry and field."""


@dataclass(frozen=True, slots=True)
class Transformation:
    """One step: reactant pattern >> product pattern, with who says the step matters."""

    id: str
    name: str  # e.g. "Boc deprotection"
    label: str
    smarts: str
    source: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class Product:
    """A product of one transformation, standardised to its parent."""

    transformation: Transformation
    structure: Structure


class _Compiled:
    """A transformation with its RDKit reaction and reactant template (built per process)."""

    __slots__ = ("reaction", "template", "transformation")

    def __init__(self, transformation: Transformation) -> None:
        try:
            reaction = rdChemReactions.ReactionFromSmarts(transformation.smarts)
        except ValueError as exc:
            raise TransformationError(
                f"transformation {transformation.id!r}: bad reaction SMARTS: {exc}"
            ) from exc
        if reaction.GetNumReactantTemplates() != 1:
            raise TransformationError(
                f"transformation {transformation.id!r}: needs exactly one reactant template"
            )
        reaction.Initialize()
        self.transformation = transformation
        self.reaction = reaction
        self.template = reaction.GetReactantTemplate(0)


def parse_transformations(entries: object, *, origin: str = "transformations") -> tuple[
    Transformation, ...
]:
    """Turn loaded YAML into Transformations; raise TransformationError naming the entry."""
    if not isinstance(entries, list):
        raise TransformationError(f"{origin}: expected a list of transformations")
    out: list[Transformation] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict):
            raise TransformationError(f"{origin}: entry {index} is not a mapping")
        for key in _REQUIRED:
            if not isinstance(entry.get(key), str) or not entry[key].strip():
                raise TransformationError(f"{origin}: entry {index}: missing field {key!r}")
        if entry["id"] in seen:
            raise TransformationError(f"{origin}: entry {index}: duplicate id {entry['id']!r}")
        seen.add(entry["id"])
        transformation = Transformation(
            id=entry["id"],
            name=entry["name"],
            label=entry["label"],
            smarts=entry["smarts"],
            source=" ".join(str(entry["source"]).split()),
            note=str(entry.get("note", "")),
        )
        _Compiled(transformation)  # fail at load time, naming the entry, not at first use
        out.append(transformation)
    return tuple(out)


@lru_cache(maxsize=1)
def load_transformations() -> tuple[Transformation, ...]:
    """The bundled transformations (precursorwatch/detect/data/transformations.yaml)."""
    text = (
        resources.files("precursorwatch.detect")
        .joinpath("data/transformations.yaml")
        .read_text(encoding="utf-8")
    )
    return parse_transformations(yaml.safe_load(text), origin="transformations.yaml")


@lru_cache(maxsize=64)
def _compiled(transformations: tuple[Transformation, ...]) -> tuple[_Compiled, ...]:
    return tuple(_Compiled(t) for t in transformations)


@lru_cache(maxsize=16)
def _pattern(smarts: str) -> Chem.Mol:
    pattern = Chem.MolFromSmarts(smarts)
    if pattern is None:
        raise ValueError(f"SMARTS does not compile: {smarts!r}")
    return pattern


def _products_of(
    compiled: _Compiled, mol: Chem.Mol, require: Chem.Mol | None = None
) -> list[Structure]:
    """Every distinct standardised product fragment of one reaction on one molecule
    (only those matching `require`, when given: standardising is the costly part)."""
    found: dict[str, Structure] = {}
    for product_set in compiled.reaction.RunReactants((mol,), maxProducts=200):
        for product in product_set:
            try:
                Chem.SanitizeMol(product)
                # A product template can leave pieces (acid + amine); judge each on its own.
                for fragment in Chem.GetMolFrags(product, asMols=True, sanitizeFrags=True):
                    smiles = Chem.MolToSmiles(fragment)
                    reparsed = Chem.MolFromSmiles(smiles)
                    if reparsed is None or reparsed.GetNumHeavyAtoms() < 4:
                        continue  # small leaving pieces (CO2, water, methanol) are never listed
                    if require is not None and not reparsed.HasSubstructMatch(require):
                        continue
                    structure = standardise(reparsed)
                    found.setdefault(structure.inchikey, structure)
            except (ValueError, RuntimeError, StructureError):
                # A template can make an impossible valence on odd inputs: no product.
                continue
    return list(found.values())


@lru_cache(maxsize=100_000)
def _apply_cached(
    smiles: str, transformations: tuple[Transformation, ...], require: str | None
) -> tuple[Product, ...]:
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        return ()
    wanted = _pattern(require) if require else None
    out: list[Product] = []
    for compiled in _compiled(transformations):
        if not mol.HasSubstructMatch(compiled.template):
            continue  # the pre-screen: no template match, no reaction run
        for structure in _products_of(compiled, mol, wanted):
            if structure.inchikey != "" and structure.smiles != smiles:
                out.append(Product(compiled.transformation, structure))
    return tuple(out)


def apply_transformations(
    structure: Structure,
    transformations: tuple[Transformation, ...] | None = None,
    *,
    require: str | None = None,
) -> tuple[Product, ...]:
    """All one-step products of `structure` under the given (default: bundled) transformations.

    Products are standardised parents (salts stripped, neutral), in the order of the
    transformations file, distinct per transformation. With `require` (a SMARTS), products
    that do not contain it are dropped before they are standardised.
    """
    chosen = transformations if transformations is not None else load_transformations()
    return _apply_cached(structure.smiles, chosen, require)


def transformation_templates(
    transformations: tuple[Transformation, ...] | None = None,
) -> tuple[Chem.Mol, ...]:
    """The reactant templates: a molecule no template matches has no one-step product."""
    chosen = transformations if transformations is not None else load_transformations()
    return tuple(c.template for c in _compiled(chosen))
