"""Chemical names: normalisation, the synonym index and typo matching.

Names in manifests and orders vary in case, spacing, hyphens, Greek letters, protecting-group
spelling ("N-Boc", "1-boc", "tert-butoxycarbonyl") and salt words ("HCl", "monohydrate"). The
index keys every known name by a normal form (`name_key`) so these variants meet.

Names as people write them carry more than the name: register and pharmacopoeia tags
("fentanyl [inn:ban]", "Fentanyl Citrate USP"), stereo and optical-rotation prefixes
("L-(+)-pseudoephedrine"), CAS index (inverted) order ("4-Piperidinone, 1-(2-phenylethyl)-"),
several synonyms joined by ";", and trade grades ("99%", "technical", "anhydrous").
`name_variants` lists the spellings worth looking up for one input, in order, each saying what
was set aside, so stereo and salt words stay known to the caller.

Typo matching (`FuzzyMatcher`) is a last resort after an exact miss against the whole vocabulary:
a correction is only made when the nearest name is a few edits away, agrees on every digit, and
is clearly nearer than any name of another substance.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from itertools import combinations
from typing import Literal, TypeVar

from rapidfuzz import process
from rapidfuzz.distance import OSA

Context = Literal["precursor", "general"]
T = TypeVar("T")

# Version of what `name_key` produces: caches of keyed names (the general vocabulary) are rebuilt
# when it changes. Bump it with any change to `name_key`/`tokens` output.
NORMALISER_VERSION = "1"

_GREEK = {
    "α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "ε": "epsilon", "κ": "kappa",
    "λ": "lambda", "μ": "mu", "ω": "omega", "σ": "sigma", "τ": "tau", "π": "pi",
}
# Protecting groups written many ways; all become one token.
_PROTECTING_GROUPS = {
    "tertbutoxycarbonyl": "boc", "tbutoxycarbonyl": "boc", "tertbutyloxycarbonyl": "boc",
    "tboc": "boc", "tertboc": "boc", "boc": "boc",
    "benzyloxycarbonyl": "cbz", "carbobenzyloxy": "cbz", "carboxybenzyl": "cbz", "cbz": "cbz",
    "z": "z",
}
# Locant tokens that can stand before a protecting group without changing the substance
# ("1-Boc", "N-Boc", "1-N-Boc" on a piperidine all mean the ring nitrogen).
_PG_LOCANTS = {"1", "n", "n1", "1n"}

# Words for counter-ions and water; maps the word to how evidence names it.
SALT_WORDS: dict[str, str] = {
    "hydrochloride": "hydrochloride", "hcl": "hydrochloride", "monohydrochloride": "hydrochloride",
    "dihydrochloride": "dihydrochloride", "2hcl": "dihydrochloride",
    "hydrobromide": "hydrobromide", "hbr": "hydrobromide",
    "hydroiodide": "hydroiodide",
    "hydrate": "hydrate", "monohydrate": "monohydrate", "dihydrate": "dihydrate",
    "trihydrate": "trihydrate", "h2o": "hydrate", "hemihydrate": "hemihydrate",
    "oxalate": "oxalate", "citrate": "citrate", "dihydrogencitrate": "citrate",
    "sulfate": "sulfate", "sulphate": "sulfate", "bisulfate": "sulfate", "hemisulfate": "sulfate",
    "tartrate": "tartrate", "bitartrate": "tartrate", "maleate": "maleate",
    "fumarate": "fumarate", "mesylate": "mesylate", "methanesulfonate": "mesylate",
    "tosylate": "tosylate", "phosphate": "phosphate", "succinate": "succinate",
    "trifluoroacetate": "trifluoroacetate", "tfa": "trifluoroacetate",
    "salt": "salt", "freebase": "free base", "base": "free base",
}
# Salt words that are also ordinary parts of names ("ethyl acetate"): only stripped when the
# rest of the name is known.
_BOC_TAILS = {"butoxycarbonyl", "butyloxycarbonyl", "boc"}
_TOKEN_RE = re.compile(r"[a-z0-9]+")
_DIGITS = re.compile(r"\d+")


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    for letter, word in _GREEK.items():
        text = text.replace(letter, f"{word}-").replace(letter.upper(), f"{word}-")
    return text.casefold()


def tokens(text: str) -> list[str]:
    """Lower-case alphanumeric tokens with protecting-group spellings unified."""
    toks = _TOKEN_RE.findall(_fold(text))
    # Join "tert butoxycarbonyl" / "t butoxycarbonyl" before unifying.
    joined: list[str] = []
    for tok in toks:
        if joined and joined[-1] in {"tert", "t"} and tok in _BOC_TAILS:
            joined[-1] = joined[-1] + tok
        else:
            joined.append(tok)
    out: list[str] = []
    for tok in joined:
        pg = _PROTECTING_GROUPS.get(tok)
        if pg is not None and pg != "z":
            while out and out[-1] in _PG_LOCANTS:
                out.pop()
            out.append(pg)
        else:
            out.append(tok)
    return out


def name_key(text: str) -> str:
    """The normal form under which names are indexed: tokens joined without separators."""
    return "".join(tokens(text))


def split_salt_words(text: str) -> tuple[str, tuple[str, ...]]:
    """Split trailing (or bracketed) salt and hydrate words off a name.

    Returns the key of what is left and the salt words found, e.g.
    "4-Piperidone HCl H2O" -> ("4piperidone", ("hydrochloride", "hydrate")).
    """
    toks = tokens(text)
    salts: list[str] = []
    kept: list[str] = []
    for i, tok in enumerate(toks):
        word = SALT_WORDS.get(tok)
        # "2 HCl" style: a bare count before a salt word belongs to it.
        if word is not None and i > 0:
            salts.append(word)
            if kept and kept[-1].isdigit() and len(kept) > 1:
                kept.pop()
        else:
            kept.append(tok)
    return "".join(kept), tuple(dict.fromkeys(salts))


# -- names as people write them ---------------------------------------------------------------
_DASHES = re.compile(r"[\u2010-\u2015\u2212\ufe58\ufe63\uff0d]")
_GREEK_WORDS = (
    "alpha|beta|gamma|delta|epsilon|zeta|eta|theta|iota|kappa|lambda|mu|nu|xi|omicron|pi|rho|"
    "sigma|tau|upsilon|phi|chi|psi|omega"
)
# CAS writes Greek letters between dots: ".alpha.-methyl".
_CAS_GREEK = re.compile(rf"\.({_GREEK_WORDS})\.", re.I)
# Every way of writing "racemic" as a sign: (±), (+-), (+/-), (.+/-.), (+/−).
_PLUS_MINUS = re.compile(r"\(\s*\.?\s*(?:±|\+\s*/?\s*-|-\s*/?\s*\+)\s*\.?\s*\)")
_CAS_SIGN = re.compile(r"\(\s*\.\s*([+-])\s*\.\s*\)")  # (.+.) (.-.)
_RATIO = re.compile(r"\s*\(\s*\d+(?:\.\d+)?\s*:\s*\d+(?:\.\d+)?\s*\)")  # "(1:1)" after a salt
_SPACES = re.compile(r"\s+")

# Register, pharmacopoeia and source tags: INN, USAN, BAN, JAN, USP, BP, EP, JP, NF, Ph. Eur., DCF,
# DCIT, Martindale (MI, MART.), VA (VAN, VANDF), WHO-DD, and the language and edition tags that
# PubChem synonyms carry ("[inn-latin]", "(8ci)", "(tn)").
_TAG_WORDS = frozenset({
    "inn", "innm", "ban", "usan", "jan", "usp", "bp", "bpc", "ep", "jp", "nf", "ph", "eur",
    "pheur", "dcf", "dcit", "mi", "mart", "van", "vandf", "who", "dd", "ip", "latin", "french",
    "spanish", "german", "italian", "tn", "ci", "hsdb", "iarc", "inci", "fcc", "fhfi", "jecfa",
    "orange", "green", "book", "ema", "epar", "rs", "monograph", "nflis",
})
# Tags that also stand bare at the end of a trade name ("Fentanyl Citrate USP").
_BARE_TAGS = re.compile(
    r"[\s,]+(?:usp(?:[\s/-]*nf)?|nf|bp|bpc|ep|jp|usan|inn|ban|jan|ph\.?\s*eur\.?|dcf|dcit|"
    r"who-dd)\.?\s*$",
    re.I,
)
_BRACKET_TAIL = re.compile(r"\s*[\[(]([^\[\]()]*)[\])]\s*$")
_TAG_SPLIT = re.compile(r"[\s:/,;.\-]+")
_TAIL_PUNCT = re.compile(r"(?:\s+-)?[\s,;]*$")  # keep the "-" that ends "9-ethyl-"
_EDITION_TAG = re.compile(r"^(?:\d+ci|(?:usp|nf|jp|ep|bp|ph)\d+)$")

# Grades, purities and forms that traders append ("99%", "technical", ", anhydrous", "solution",
# "1 mg/mL in methanol").
_GRADE_TAIL = re.compile(
    r"""[\s,;]*[\[(]?\s*(?:
        (?:purity\s*)?[≥>~]?=?\s*\d{1,3}(?:[.,]\d+)?\s*\+?\s*%(?:\s*(?:min\.?|purity|pure|
            \(\s*(?:gc|hplc|t|titration|nmr)\s*\)|gc|hplc))*
      | (?:ca\.?\s*)?\d+(?:[.,]\d+)?\s*(?:mg|µg|μg|ug|g|mmol|mol|m)\s*/\s*(?:ml|l|kg)
      | (?:solution\s+)?in\s+(?:methanol|acetonitrile|water|ethanol|dmso|chloroform|
            dichloromethane|hexane|ether|acetone|isopropanol)
      | (?:technical|tech\.?|reagent|analytical|analytical\s+reagent|acs|hplc|lab|laboratory|
            pharma|pharmaceutical|food|industrial|synthesis|electronic|ultrapure|
            spectroscopic|usp|bp|ep|cp|ar|lr|gr)\s+grade
      | technical | tech\.? | acs\s+reagent | reagentplus | reagent | for\s+synthesis
      | for\s+analysis | extra\s+pure | purum | puriss\.?(?:\s+p\.\s*a\.)? | p\.\s*a\.
      | pure | anhydrous | (?:aqueous\s+)?solution | aq\.?\s+soln\.? | soln\.? | crystalline
      | crystals | powder | liquid | bulk | neat | min\.?
      | (?:certified\s+)?reference\s+(?:standard|material) | analytical\s+standard | standard
      | crm
    )\s*[\])]?\s*$""",
    re.X | re.I,
)

# Stereo and optical-rotation descriptors written before a name: (+) (-) (±) (R) (1R,2S) (αS)
# (R*,S*) [R-(R*,R*)] (E) (Z), and the words d-, l-, dl-, rac-, rel-, meso-, cis-, trans-,
# threo-, erythro-, levo-, dextro-. A bare "R-"/"S-" counts only before a sign ("R-(-)-"):
# otherwise "S-" is a sulfur locant.
_CIP_ITEM = (rf"(?:(?:\d+[a-z]?'*|{_GREEK_WORDS}|n)?\s*(?:rs|sr|r\*?|s\*?|\*r|\*s|e|z)"
             r"|\d+(?:alpha|beta|a|b))")  # "(8beta)", "(8b)": a ring position below/above
_STEREO_LEAD = re.compile(
    rf"""^\s*(?:
        [\[(]\s*(?:[+-]|±)\s*[\])]
      | [\[(]\s*{_CIP_ITEM}(?:\s*,\s*{_CIP_ITEM})*\s*[\])]
      | [\[(]\s*[rs]\s*-\s*\(\s*[rs]\*\s*,\s*[rs]\*\s*\)\s*[\])]
      | [\[(]\s*(?:dl|d|l|rac|rs|racemic)\s*[\])]
      | (?:dl|d,l|rac|racemic|rel|meso|cis|trans|threo|erythro|levo|dextro|d|l)
        (?=\s*[-(\[])
      | [rs](?=\s*-\s*[(\[]\s*[-+±])
      | (?:racemic|racemate)\s+
    )\s*-?\s*""",
    re.X | re.I,
)
_STEREO_TAIL = re.compile(
    r"\s*[\[(]\s*(?:[+-]|±|rs|r|s|dl|d|l|racemic|racemate|rac)\s*[\])]\s*$", re.I
)

# CAS index names put counter-ions in words of their own; these are the common ones.
_CAS_SALTS = {
    "2-hydroxy-1,2,3-propanetricarboxylate": "citrate", "ethanedioate": "oxalate",
    "2,3-dihydroxybutanedioate": "tartrate", "(z)-2-butenedioate": "maleate",
    "(e)-2-butenedioate": "fumarate", "methanesulfonate": "mesylate",
    "butanedioate": "succinate", "sulfate": "sulfate", "phosphate": "phosphate",
}
# A substituent segment whose closing "-" was dropped ("9h-purin-6-amine,9-ethyl").
_BARE_SUBSTITUENT = re.compile(r"^(?:\d|[a-z]\d*-|[(\[])\S*$", re.I)
_ESTER_TAIL = re.compile(r"^[\w,()'\- ]*\b(?:ester|anhydride|lactone)$", re.I)
_SALT_TAIL_WORDS = frozenset({"mono", "di", "hemi", "salt", "sodium", "potassium", "calcium",
                              "disodium", "dipotassium", "magnesium", "lithium", "ammonium"})


@dataclass(frozen=True, slots=True)
class NameVariant:
    """One spelling of an input worth looking up, and what was set aside to reach it.

    `stereo` lists the stereo/optical-rotation descriptors the input states (also on the
    spelling as given, where they may survive in the key): a name found through them is a
    stereoisomer of what the stereo-less name means unless the caller knows better.
    """

    text: str  # the spelling (case-folded once normalised)
    key: str  # name_key(text)
    base_key: str  # key with salt and hydrate words split off
    salt_words: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()  # register/pharmacopoeia tags and trade grades removed
    stereo: tuple[str, ...] = ()  # stereo descriptors stated in the input
    note: str = ""  # what was normalised, for the evidence; "" for the input as given

    @property
    def stereo_given(self) -> bool:
        return bool(self.stereo)

    def lookup_keys(self) -> tuple[str, ...]:
        """Keys to look up, in order: the whole spelling, then without salt words."""
        if self.salt_words and self.base_key and self.base_key != self.key:
            return (self.key, self.base_key)
        return (self.key,)


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    text = _DASHES.sub("-", text)
    for letter, word in _GREEK.items():
        text = text.replace(letter, word).replace(letter.upper(), word)
    text = _CAS_GREEK.sub(r"\1", text)
    text = _PLUS_MINUS.sub("(±)", text)
    text = _CAS_SIGN.sub(r"(\1)", text)
    return _SPACES.sub(" ", text).strip()


def _is_tag(content: str) -> bool:
    words = [w for w in _TAG_SPLIT.split(content.casefold()) if w]
    return bool(words) and all(w in _TAG_WORDS or _EDITION_TAG.match(w) for w in words)


def _tail(text: str) -> int:
    """Where to start looking for a trailing tag, grade or descriptor: they are short, and
    searching a whole 1,000-character input from every position would take seconds."""
    return max(0, len(text) - 60)


def strip_tags(text: str) -> tuple[str, tuple[str, ...]]:
    """Remove trailing register/pharmacopoeia tags and trade grades; returns what is left and
    what was removed (in the order written)."""
    removed: list[str] = []
    while len(removed) < 12:  # a name carries a few; more is junk not worth the time
        m = _BRACKET_TAIL.search(text, _tail(text))
        if m and m.start() > 0 and _is_tag(m.group(1)):
            removed.insert(0, m.group(0).strip())
            text = _TAIL_PUNCT.sub("", text[: m.start()])
            continue
        for pattern in (_BARE_TAGS, _GRADE_TAIL):
            m = pattern.search(text, _tail(text))
            if m and m.start() > 0 and text[: m.start()].strip(" ,;-"):
                removed.insert(0, m.group(0).strip(" ,;"))
                text = _TAIL_PUNCT.sub("", text[: m.start()])
                break
        else:
            break
    return text, tuple(removed)


def strip_stereo(text: str, *, whole: bool = False) -> tuple[str, tuple[str, ...]]:
    """Remove leading (and bracketed trailing) stereo and optical-rotation descriptors; a name
    is never removed whole ("d-" stays in "d-"), unless `whole` (a CAS stereo segment)."""
    found: list[str] = []
    while True:
        m = _STEREO_LEAD.match(text)
        if not m or m.end() == 0 or not (whole or text[m.end():].strip(" -")):
            break
        found.append(m.group(0).strip(" -"))
        text = text[m.end():]
    m = _STEREO_TAIL.search(text, _tail(text))
    if m and m.start() > 0:
        found.append(m.group(0).strip())
        text = text[: m.start()]
    return text.strip(), tuple(found)


def _split_cas_commas(text: str) -> list[str]:
    """Split at the commas that separate the parts of a CAS index name: at bracket depth 0,
    followed by a space or following a word (not a locant list such as "2,3-" or "N,N-")."""
    parts: list[str] = []
    depth = 0
    start = 0
    for i, ch in enumerate(text):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth = max(0, depth - 1)
        elif ch == "," and depth == 0:
            after_space = text[i + 1: i + 2] == " "
            after_word = re.search(r"[a-z]{3}$", text[max(start, i - 3):i], re.I) is not None
            if after_space or after_word:
                parts.append(text[start:i].strip())
                start = i + 1
    parts.append(text[start:].strip())
    return parts


def _salt_segment(seg: str) -> str | None:
    """The salt word(s) a CAS tail segment names ("monohydrochloride", "citrate (1:1)")."""
    seg = _RATIO.sub("", seg).strip().casefold()
    seg = re.sub(r"\s*\(salt\)$", "", seg)
    if seg in _CAS_SALTS:
        return _CAS_SALTS[seg]
    words = seg.split()
    if words and all(w in SALT_WORDS or w in _SALT_TAIL_WORDS for w in words):
        return seg
    if seg.endswith("hydrochloride") or seg.endswith("hydrate"):
        return seg if SALT_WORDS.get(seg.replace(" ", "")) else None
    return None


def uninvert_cas_name(text: str) -> tuple[str, tuple[str, ...]] | None:
    """A CAS index name in natural order, and the stereo descriptors it carried.

    "4-piperidinone, 1-(2-phenylethyl)-" -> "1-(2-phenylethyl)-4-piperidinone";
    "benzenemethanol, alpha-(1-aminoethyl)-, [r-(r*,r*)]-" ->
    ("alpha-(1-aminoethyl)benzenemethanol", ("[r-(r*,r*)]",)). None when `text` is not one.
    """
    segs = _split_cas_commas(text)
    parent = segs[0]
    if len(segs) < 2 or not re.search(r"[a-z]{3}", parent, re.I) or parent.endswith("-"):
        return None
    subs: list[str] = []
    tails: list[str] = []
    stereo: list[str] = []
    for seg in segs[1:]:
        if not seg:
            return None
        rest, st = strip_stereo(seg, whole=True)
        if st and not rest.strip(" -"):
            stereo.extend(st)
            continue
        if seg.endswith("-") or (_BARE_SUBSTITUENT.match(seg) and _salt_segment(seg) is None
                                 and not subs and not tails):
            rest, st = strip_stereo(seg)
            if st and rest.endswith("-"):
                stereo.extend(st)
                seg = rest
            subs.append(seg if seg.endswith("-") else seg + "-")
            continue
        salt = _salt_segment(seg)
        if salt is not None:
            tails.append(salt)
        elif _ESTER_TAIL.match(seg):
            tails.insert(0, seg)
        else:
            return None
    parent, lead = strip_stereo(parent)
    stereo[:0] = lead
    prefix = "".join(subs)
    if prefix and not parent[:1].isdigit():
        prefix = prefix[:-1]  # "alpha-(1-aminoethyl)-" + "benzenemethanol"
        if parent[1:2].islower():
            parent = parent[0].lower() + parent[1:]  # "Propanamide" inside a word
    natural = " ".join([prefix + parent, *tails])
    return natural, tuple(stereo)


def _describe(original: str, text: str, steps: list[str]) -> str:
    return f"{original.strip()!r} read as {text!r} ({'; '.join(steps)})"


def _spellings(part: str, whole: str) -> list[tuple[str, tuple[str, ...], tuple[str, ...],
                                                    list[str]]]:
    """The normalised spellings of one part: (spelling, tags, stereo, steps) per step."""
    out = []
    steps = [] if part == whole else [f"one of {whole.count(';') + 1} names joined by ';'"]
    spelling, tags = strip_tags(_RATIO.sub("", part))
    if tags:
        steps.append("set aside " + ", ".join(repr(t) for t in tags))
    stereo: tuple[str, ...] = strip_stereo(spelling)[1]
    out.append((spelling, tags, stereo, list(steps)))
    inverted = uninvert_cas_name(spelling)
    if inverted is not None:
        spelling, cas_stereo = inverted
        stereo = tuple(dict.fromkeys((*stereo, *cas_stereo)))
        steps.append("CAS index name in natural order")
        if cas_stereo:
            steps.append("stereo descriptors set aside: " + " ".join(cas_stereo))
        out.append((spelling, tags, stereo, list(steps)))
    bare, lead = strip_stereo(spelling)
    stereo = tuple(dict.fromkeys((*stereo, *lead)))
    if stereo and bare != spelling:
        steps.append("stereo descriptors set aside: " + " ".join(stereo))
        out.append((bare, tags, stereo, list(steps)))
    return out


def name_variants(text: str) -> list[NameVariant]:
    """The spellings of one input worth looking up, most literal first.

    The input as given comes first; then, for the whole input and for each ";"-joined part:
    without register tags and trade grades, in natural order if it is a CAS index name, and
    without stereo descriptors. Spellings with the same key are listed once. Pure and cheap.
    """
    out: list[NameVariant] = []
    seen: set[str] = set()

    def add(spelling: str, tags: tuple[str, ...], stereo: tuple[str, ...], note: str) -> None:
        key = name_key(spelling)
        if not key or key in seen:
            return
        seen.add(key)
        base, salts = split_salt_words(spelling)
        out.append(NameVariant(spelling, key, base, salts, tags, stereo, note))

    cleaned = _clean(text)
    parts = [p.strip() for p in cleaned.split(";") if p.strip()]
    whole = _spellings(cleaned, cleaned)
    # The input as given states the stereo found on the way, even where its key keeps it.
    add(text.strip(), (), whole[-1][2], "")
    for spellings in (whole, *(_spellings(p, cleaned) for p in parts if p != cleaned)):
        for spelling, tags, stereo, steps in spellings:
            add(spelling, tags, stereo, _describe(text, spelling, steps) if steps else "")
    return out


def systematic_spelling(text: str) -> str:
    """The one spelling of `text` to give a systematic-name parser (OPSIN): register tags and
    grades removed and a CAS index name put in natural order, stereo descriptors kept; of
    ";"-joined names, the longest."""
    cleaned = _clean(text)
    parts = [p.strip() for p in cleaned.split(";") if p.strip()] or [cleaned]
    part = max(parts, key=len)
    spellings = _spellings(part, part)
    # Not the spelling with the CIP/rotation prefixes cut (a CAS name's relative stereo words
    # are no use to a parser and may go).
    kept = [sp for sp, _, _, steps in spellings
            if not (steps and steps[-1].startswith("stereo descriptors")
                    and not (len(steps) > 1 and steps[-2].startswith("CAS")))]
    if not kept:
        return text.strip()
    best = kept[-1]
    return text.strip() if name_key(best) == name_key(text) else best


def first_known(text: str, known: Callable[[str], T | None]) -> tuple[T, NameVariant] | None:
    """The first spelling of `text` (see `name_variants`) that `known` finds by key: each
    variant's whole key, then its key without salt words. `known` is any key look-up (the
    synonym index, the general vocabulary)."""
    for variant in name_variants(text):
        for key in variant.lookup_keys():
            found = known(key)
            if found is not None:
                return found, variant
    return None


# -- typo matching ------------------------------------------------------------------------------
MIN_FUZZY_LENGTH = 5  # shorter keys are abbreviations: a typo there is another chemical
# A correction must be this many edits nearer than the nearest name of another substance, and
# may undo two edits only in keys this long. Chosen on benchmarks/fuzzy_eval.py (figures in
# docs/benchmarks.md): a margin of 2 loses a fifth of the corrections of listed names for no
# gain in precision; two edits in keys of 12-15 characters turned more real names missing
# from the vocabulary into listed ones ("nitranilic acid" -> "antranilic acid").
FUZZY_MARGIN = 1
TWO_EDITS_FROM = 16


# Small edits that chemists make on purpose: each turns one real name into another (butanone /
# butenone / butynone, ephedrine / ephedrone, ethylbenzene / methylbenzene, phenylacetonitrile /
# diphenylacetonitrile, propanone / propane). A typo correction is refused when the input is
# nearer to such a variant of the corrected name than to the name itself: it more likely names
# another chemical, whether or not the vocabulary has it.
_ENDINGS = ("one", "ine", "ane", "ene", "yne", "ol", "al", "ide", "ate", "ite", "ic", "ous", "yl",
            "oyl", "ium")
_CHAINS = ("meth", "eth", "prop", "but", "pent", "hex", "hept", "oct", "non", "dec")
_CHEMICAL_EDITS: tuple[tuple[str, str], ...] = (
    # saturation after a chain stem: butanone / butenone / butynone (not phenyl / phynyl)
    *((c + a, c + b) for c in _CHAINS for a, b in combinations(("an", "en", "yn"), 2)),
    *combinations(_ENDINGS, 2),
    # chain lengths: ethylbenzene / methylbenzene, 1,4-butanediol / 1,4-octanediol
    *combinations(_CHAINS, 2),
    ("one", "e"), ("phen", "then"), ("phen", "thien"), ("phen", "hex"), ("ethyl", "ethenyl"),
    ("ethyl", "ethynyl"), ("amin", "imin"), ("azine", "ine"), ("lact", "acet"), ("tri", "di"),
    ("di", ""), ("bis", ""), ("nor", ""), ("iso", ""), ("dl", ""), ("hydro", ""), ("oxy", ""),
    ("thio", "oxo"), ("thi", "ox"),
)
# Ring positions written as a letter: o-/m-/p-acetamidobenzoic acid.
_RING_POSITIONS = "omp"


def chemical_variants(known: str) -> set[str]:
    """Every spelling one deliberate chemical change away from `known` (see _CHEMICAL_EDITS)."""
    out: set[str] = set()
    for a, b in _CHEMICAL_EDITS:
        for x, y in ((a, b), (b, a)):
            if not x:
                out.update(known[:i] + y + known[i:] for i in range(len(known) + 1))
                continue
            i = known.find(x)
            while i >= 0:
                out.add(known[:i] + y + known[i + len(x):])
                i = known.find(x, i + 1)
    if known[:1] in _RING_POSITIONS and known[1:2].isalpha():
        out.update(p + known[1:] for p in _RING_POSITIONS)
    out.discard(known)
    return out


def chemical_edit(query: str, known: str) -> bool:
    """True when `query` is nearer to a deliberate chemical change of `known` than to `known`
    ("butenone" for "butanone", "ephedrone" for "ephedrine"): not a typo of it."""
    dist = OSA.distance(query, known)
    if dist == 0:
        return False
    near = process.extractOne(query, chemical_variants(known), scorer=OSA.distance,
                              score_cutoff=dist - 1)
    return near is not None


def max_typo_edits(length: int, two_edits_from: int | None = None) -> int:
    """Edits (OSA: substitution, insertion, deletion, transposition) a correction may undo in a
    key of this length: none in short keys, one, and two in keys of `two_edits_from` or more."""
    if length < MIN_FUZZY_LENGTH:
        return 0
    return 1 if length < (two_edits_from or TWO_EDITS_FROM) else 2


@dataclass(frozen=True, slots=True)
class FuzzyMatch:
    """A typo correction, and how sure it is."""

    query_key: str
    key: str  # the known key it was read as
    substances: frozenset[str]  # what that key names
    distance: int  # edits between the two keys
    score: float  # similarity 0-100 (100 * (1 - distance / longer length))
    runner_up: str | None  # nearest key of another substance (None: none within reach)
    margin: int  # edits between the runner-up and the match (reach + 1 when there is none)

    @property
    def note(self) -> str:
        rival = (f"nearest other substance {self.runner_up!r} is {self.margin} edit(s) further"
                 if self.runner_up else "no other substance within reach")
        return (f"typo match: key {self.query_key!r} read as {self.key!r}, {self.distance} "
                f"edit(s), similarity {self.score:.0f}/100; {rival}")


class FuzzyMatcher:
    """Typo correction over any collection of keys (hundreds of thousands is fine).

    `pairs` are (name_key, substance id): keys of one substance (synonyms, stereoisomers when the
    id is a connectivity key) agree, keys of different substances compete. A key is corrected to
    the nearest known key only when that key is within `max_typo_edits`, carries the same digits
    in the same order (locants are not typos), and every key of another substance is at least
    `margin` edits further. A key that is itself known is never corrected.
    """

    def __init__(self, pairs: Iterable[tuple[str, str]], *, margin: int = FUZZY_MARGIN,
                 two_edits_from: int = TWO_EDITS_FROM) -> None:
        # Built at the first name no table knows, over every name of the general vocabulary:
        # most keys have one substance, so each gets its frozenset at once.
        by_key: dict[str, frozenset[str]] = {}
        known = by_key.get
        for key, substance in pairs:
            if key:
                found = known(key)
                if found is None:
                    by_key[key] = frozenset((substance,))
                elif substance not in found:
                    by_key[key] = found | {substance}
        self.margin = margin
        self.two_edits_from = two_edits_from
        self._by_key = by_key
        buckets: dict[int, list[str]] = {}
        for key in by_key:
            bucket = buckets.get(len(key))
            if bucket is None:
                buckets[len(key)] = [key]
            else:
                bucket.append(key)
        self._by_length = buckets

    def __len__(self) -> int:
        return len(self._by_key)

    def __contains__(self, key: object) -> bool:
        return key in self._by_key

    def substances(self, key: str) -> frozenset[str]:
        return self._by_key.get(key, frozenset())

    def match(self, text: str, *, exclude: Collection[str] = ()) -> FuzzyMatch | None:
        """Correct the most normalised spelling of each ";"-joined part of `text` (tags,
        stereo and salt words set aside); the first correction made wins."""
        variants = name_variants(text)
        if any(self._known(k, exclude) for v in variants for k in v.lookup_keys()):
            return None  # a known name is never a typo of another one
        for key in dict.fromkeys(v.base_key or v.key for v in reversed(variants)):
            found = self.match_key(key, exclude=exclude)
            if found is not None:
                return found
        return None

    def _known(self, key: str, exclude: Collection[str]) -> bool:
        subs = self._by_key.get(key)
        return bool(subs) and not (subs and subs <= set(exclude))

    def match_key(self, key: str, *, exclude: Collection[str] = ()) -> FuzzyMatch | None:
        """Correct one key. `exclude` hides substances, as if they were not in the vocabulary
        (for measuring what happens to a name the vocabulary lacks)."""
        allowed = max_typo_edits(len(key), self.two_edits_from)
        if not allowed or self._known(key, exclude):
            return None
        reach = allowed + self.margin - 1
        digits = _DIGITS.findall(key)
        found: list[tuple[int, str, frozenset[str]]] = []
        skip = frozenset(exclude)
        for length in range(len(key) - reach, len(key) + reach + 1):
            bucket = self._by_length.get(length)
            if not bucket:
                continue
            for cand, dist, _ in process.extract(key, bucket, scorer=OSA.distance,
                                                 score_cutoff=reach, limit=None):
                subs = self._by_key[cand] - skip
                # Locants and counts are not typos: "3-piperidone" is not "4-piperidone".
                if subs and _DIGITS.findall(cand) == digits:
                    found.append((int(dist), cand, subs))
        if not found:
            return None
        found.sort(key=lambda f: (f[0], f[1]))
        dist, best, subs = found[0]
        if dist > allowed or chemical_edit(key, best):
            return None
        rival = next((f for f in found[1:] if not (f[2] & subs)), None)
        margin = rival[0] - dist if rival else reach + 1 - dist
        if margin < self.margin:
            return None
        score = round(100.0 * (1 - dist / max(len(key), len(best))), 1)
        return FuzzyMatch(key, best, subs, dist, score, rival[1] if rival else None, margin)


# -- the synonym index --------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class NameEntry:
    """One known chemical with every name it goes by."""

    ref: str  # stable id of the record the name came from
    name: str  # preferred name
    smiles: str
    context: Context
    cas: tuple[str, ...] = ()
    synonyms: tuple[str, ...] = ()
    abbreviations: tuple[str, ...] = ()

    def all_names(self) -> tuple[str, ...]:
        return (self.name, *self.synonyms, *self.abbreviations)


@dataclass(frozen=True, slots=True)
class NameHit:
    entry: NameEntry
    alternatives: tuple[NameEntry, ...] = ()  # other chemicals the same name means
    score: float | None = None  # fuzzy similarity 0-100; None for exact
    matched_name: str = ""
    variant: NameVariant | None = None  # the spelling that matched (see `name_variants`)
    fuzzy: FuzzyMatch | None = None  # how close a typo match was, and the runner-up

    @property
    def note(self) -> str:
        """What was normalised or corrected to reach this name ("" when nothing was)."""
        parts = [self.variant.note if self.variant else "", self.fuzzy.note if self.fuzzy else ""]
        return "; ".join(p for p in parts if p)


class SynonymIndex:
    """Exact lookup by normal form, CAS and InChIKey, with a fuzzy fallback."""

    def __init__(self, entries: Iterable[NameEntry]) -> None:
        self.entries: tuple[NameEntry, ...] = tuple(entries)
        by_key: dict[str, list[NameEntry]] = defaultdict(list)
        self._display: dict[str, str] = {}
        for entry in self.entries:
            for nm in entry.all_names():
                key = name_key(nm)
                if key and entry not in by_key[key]:
                    by_key[key].append(entry)
                    self._display.setdefault(key, nm)
        self._by_key = dict(by_key)
        self._keys = list(self._by_key)
        self._by_cas: dict[str, list[NameEntry]] = defaultdict(list)
        for entry in self.entries:
            for cas in entry.cas:
                self._by_cas[cas].append(entry)
        self._matcher: FuzzyMatcher | None = None

    def lookup(self, text: str) -> NameHit | None:
        """Exact lookup of a name as given (after `name_key`)."""
        return self._hit(name_key(text))

    def lookup_key(self, key: str) -> NameHit | None:
        return self._hit(key)

    def lookup_variants(self, text: str) -> NameHit | None:
        """Lookup of the spellings of `text` in order (`name_variants`): as given, then without
        tags and grades, in natural order, without stereo descriptors, and each ";"-joined
        part. `hit.variant` says which spelling matched (its salt words and stated stereo)."""
        found = first_known(text, self._hit)
        if found is None:
            return None
        hit, variant = found
        return NameHit(hit.entry, hit.alternatives, None, hit.matched_name, variant)

    def _hit(self, key: str) -> NameHit | None:
        found = self._by_key.get(key)
        if not found:
            return None
        return _prefer_precursor(found, self._display.get(key, key))

    def by_cas(self, cas: str) -> NameHit | None:
        found = self._by_cas.get(cas)
        if not found:
            return None
        return _prefer_precursor(found, cas)

    def fuzzy_pairs(self) -> list[tuple[str, str]]:
        """(key, ref) for every name here, to build a `FuzzyMatcher` together with the keys
        of a larger vocabulary (use one substance id scheme for both, e.g. the first block of
        the InChIKey, so the same substance in both does not compete with itself)."""
        return [(key, e.ref) for key, found in self._by_key.items() for e in found]

    def fuzzy(self, text: str, *, cutoff: float | None = None,
              matcher: FuzzyMatcher | None = None) -> NameHit | None:
        """A typo correction of `text` to a name here, or None.

        `matcher` should cover the whole vocabulary the caller knows (see `FuzzyMatcher`), so
        that a real chemical that merely looks like one here is left alone; without it only
        the names here compete. A correction to a key that is not here gives None. `cutoff`,
        when given, is a minimum similarity (0-100) on top of the edit rules.
        """
        if matcher is None:
            if self._matcher is None:
                self._matcher = FuzzyMatcher(self.fuzzy_pairs())
            matcher = self._matcher
        found = matcher.match(text)
        if found is None or (cutoff is not None and found.score < cutoff):
            return None
        return self.fuzzy_hit(found)

    def fuzzy_hit(self, found: FuzzyMatch) -> NameHit | None:
        """The name here that a correction made by a matcher reads the input as, if any."""
        hit = self._hit(found.key)
        if hit is None:
            return None
        return NameHit(hit.entry, hit.alternatives, found.score, hit.matched_name, None, found)


def _prefer_precursor(found: list[NameEntry], matched_name: str) -> NameHit:
    """Several chemicals share a name (e.g. "4-AP"): read it in the precursor context.

    The other meanings are kept as `alternatives` so the evidence can say so.
    """
    distinct: list[NameEntry] = []
    seen: set[str] = set()
    for e in sorted(found, key=lambda e: e.context != "precursor"):
        # One record (a substance and its salt forms share a ref) or one structure is one
        # meaning, however many names lead to it.
        if e.ref not in seen and e.smiles not in seen:
            seen.add(e.ref)
            seen.add(e.smiles)
            distinct.append(e)
    return NameHit(distinct[0], tuple(distinct[1:]), None, matched_name)
