"""Finding chemical mentions in free-text goods descriptions.

Only *finding*: CAS numbers by pattern and check digit, and name candidates by stripping what is
not the chemical (quantities, purity, packaging, grade, appearance, trade words) and offering the
cleaned phrase plus its plausible sub-phrases. Identification is the Checker's job; salt and
hydrate words ("HCl", "H2O", "hydrochloride") are kept because they change the listing basis.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from precursorwatch.chem.cas import CAS_IN_TEXT, CasError, parse_cas

# Noise that surrounds a chemical name on a manifest. Order matters: compound units first.
_NOISE_PATTERNS: tuple[str, ...] = (
    r"\bcas(?:\s*(?:no|number|rn|#))?\.?\s*[:#]?",
    r"\d+(?:[.,]\d+)?\s*(?:kgs?|g|grams?|mg|mt|t|tons?|tonnes?|lbs?|l|ltrs?|litres?|liters?|ml"
    r"|pcs|units?|drums?|bags?|cartons?|ctns?|boxes|box|bottles?|barrels?|pallets?|cans?|jars?"
    r"|tins?|pails?|ibcs?|sets?|packs?|pkgs?)\s*(?:/\s*[a-z]+)?\b",
    r"(?:purity|assay|min\.?|max\.?|>=|≥|>|<)?\s*\d+(?:[.,]\d+)?\s*%\s*(?:min\.?|purity|pure"
    r"|assay)?",
    r"\b(?:x|×)\s*\d+\b",
    r"\b\d+\s*(?:x|×)\b",
)
_NOISE_WORDS: tuple[str, ...] = (
    # packaging
    "drum", "drums", "bag", "bags", "carton", "cartons", "bottle", "bottles", "box", "boxes",
    "pallet", "pallets", "packed", "packing", "package", "packaging", "in", "per", "each",
    "ibc", "ibcs", "fcl", "lcl", "foil", "aluminium", "aluminum", "sealed", "vacuum", "fiber",
    "fibre", "paper",
    # grade and purity
    "grade", "pharma", "pharmaceutical", "industrial", "technical", "tech", "food", "reagent",
    "analytical", "usp", "bp", "ep", "purity", "pure", "high", "quality", "min", "assay",
    "99", "98",
    # appearance
    "white", "off-white", "offwhite", "yellow", "yellowish", "pale", "colorless", "colourless",
    "brown", "powder", "powders", "crystal", "crystals", "crystalline", "liquid", "solid",
    "granules", "granular", "flakes", "oil", "oily",
    # purpose and trade words
    "intermediate", "intermediates", "raw", "material", "materials", "api", "for", "research",
    "use", "only", "lab", "laboratory", "sample", "samples", "free", "stock", "new", "batch",
    "lot", "no", "origin", "made", "china", "cas", "rn", "and", "of", "the", "with",
)
_SEPARATORS = re.compile(r"[;|\n]+|,\s+|\s+/\s+|\s+-\s+|\s+\+\s+")
_NOISE_RE = [re.compile(p, re.IGNORECASE) for p in _NOISE_PATTERNS]
_NOISE_SET = frozenset(_NOISE_WORDS)
# Words that qualify a salt or hydrate: never the start of a sub-phrase on their own.
_SALT_WORDS = frozenset({
    "hcl", "hbr", "h2o", "2hcl", "hydrochloride", "dihydrochloride", "hydrobromide",
    "hydrate", "monohydrate", "dihydrate", "salt", "citrate", "oxalate", "tartrate", "sulfate",
    "sulphate", "phosphate", "acetate", "mesylate", "tosylate", "free", "base",
})
MAX_WORDS = 8
MIN_CANDIDATE_CHARS = 3


@dataclass(frozen=True, slots=True)
class Mention:
    """A candidate chemical in a description: its text, how it was found, and where.

    `segment` and `start`/`end` (word positions within the segment) let the caller keep the
    longest resolved candidate and drop the sub-phrases it contains.
    """

    text: str
    kind: str  # "cas" | "name"
    segment: int = 0
    start: int = 0
    end: int = 0


@dataclass(frozen=True, slots=True)
class Mentions:
    """All candidates of one description, and CAS-shaped numbers whose check digit fails."""

    candidates: tuple[Mention, ...]
    bad_cas: tuple[str, ...] = ()


def _clean_segment(text: str) -> list[str]:
    for rx in _NOISE_RE:
        text = rx.sub(" ", text)
    words = []
    for raw in text.split():
        w = raw.strip(".,:;()[]{}\"'").lower() if raw.count("(") != raw.count(")") else raw
        lw = w.strip(".,:;\"'").lower()
        if not lw or lw in _NOISE_SET or re.fullmatch(r"[\d.,%/x×-]+", lw):
            words.append("")  # a gap: sub-phrases never bridge removed words
            continue
        words.append(raw.strip(",;:\"'"))
    return words


def _runs(words: list[str]) -> list[list[str]]:
    runs: list[list[str]] = [[]]
    for w in words:
        if w:
            runs[-1].append(w)
        elif runs[-1]:
            runs.append([])
    return [r for r in runs if r]


def find_mentions(description: str) -> Mentions:
    """CAS numbers and name candidates in a goods description (longest candidates first)."""
    candidates: list[Mention] = []
    bad_cas: list[str] = []
    seen: set[str] = set()
    for m in CAS_IN_TEXT.finditer(description):
        text = m.group(0)
        try:
            cas = str(parse_cas(text))
        except CasError:
            bad_cas.append(text)
            continue
        if cas not in seen:
            seen.add(cas)
            candidates.append(Mention(cas, "cas"))
    text = CAS_IN_TEXT.sub(" ; ", description)
    segment_no = 0
    for segment in _SEPARATORS.split(text):
        for run in _runs(_clean_segment(segment)):
            segment_no += 1
            run = run[:MAX_WORDS]
            n = len(run)
            for size in range(n, 0, -1):
                for start in range(0, n - size + 1):
                    words = run[start:start + size]
                    if words[0].lower() in _SALT_WORDS:
                        continue
                    phrase = " ".join(words)
                    key = phrase.lower()
                    if len(phrase) < MIN_CANDIDATE_CHARS or key in seen:
                        continue
                    seen.add(key)
                    candidates.append(Mention(phrase, "name", segment_no, start, start + size))
    return Mentions(tuple(candidates), tuple(bad_cas))
