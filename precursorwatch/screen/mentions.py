"""Finding chemical mentions in free-text goods descriptions.

Only *finding*: CAS numbers by pattern and check digit, and name candidates by stripping what is
not the chemical (quantities, purity, packaging, grade, appearance, trade words) and offering the
cleaned phrase plus its plausible sub-phrases. Identification is the Checker's job; salt and
hydrate words ("HCl", "H2O", "hydrochloride") are kept because they change the listing basis.

Spanish descriptions are read like English ones, with Spanish noise words ("grado
farmacéutico", "tambor", "pureza"). Chinese is written without spaces between words, so
Chinese text is scanned for the known Chinese names instead (longest name first at each place,
with the salt and hydrate words around it: "盐酸麻黄碱", "4-哌啶酮盐酸盐一水合物"); a name is
taken only where it is not part of a longer chemical word ("甲苯" in "二甲苯" or "甲苯磺酸" is
not toluene).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from precursorwatch.chem.cas import CAS_IN_TEXT, CasError, parse_cas
from precursorwatch.chem.multilingual import (
    bundled_vocabulary,
    cjk_names,
    has_cjk,
    normalise_text,
)

# Noise that surrounds a chemical name on a manifest. Order matters: compound units first.
_NOISE_PATTERNS: tuple[str, ...] = (
    r"\bcas(?:\s*(?:no|number|rn|#))?\.?\s*[:#]?",
    r"\d+(?:[.,]\d+)?\s*(?:kgs?|g|grams?|mg|mt|t|tons?|tonnes?|lbs?|l|ltrs?|litres?|liters?|ml"
    r"|pcs|units?|drums?|bags?|cartons?|ctns?|boxes|box|bottles?|barrels?|pallets?|cans?|jars?"
    r"|tins?|pails?|ibcs?|sets?|packs?|pkgs?|kilos?|kilogramos?|gramos?|litros?|toneladas?"
    r"|piezas?|tambor(?:es)?|sacos?|bolsas?|cajas?|bidon(?:es)?|bidón)\s*(?:/\s*[a-z]+)?\b",
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
    # Spanish: packaging, grade, appearance, purpose ("de" is kept: it is part of names)
    "tambor", "tambores", "bolsa", "bolsas", "saco", "sacos", "caja", "cajas", "bidón", "bidon",
    "bidones", "cuñete", "cuñetes", "botella", "botellas", "frasco", "frascos", "envase",
    "granel", "kg", "kgs", "litros", "grado", "farmacéutico", "farmaceutico", "farmacéutica",
    "farmaceutica", "técnico", "tecnico", "reactivo", "analítico", "analitico", "alimenticio",
    "pureza", "puro", "pura", "calidad", "polvo", "blanco", "blanca", "cristales",
    "cristalino", "cristalina", "líquido", "liquido", "sólido", "solido", "anhidro", "anhidra",
    "materia", "prima", "intermedio", "intermediario", "muestra", "muestras", "para", "uso",
    "en", "laboratorio", "investigación", "investigacion", "lote", "origen", "con", "y", "el",
    "la", "los", "las",
)
# Words that join the parts of a Spanish name ("cloruro de propionilo"): never the first or
# last word of a candidate.
_JOINING_WORDS = frozenset({"de", "del"})
# Chinese noise: quantities with their units, packaging, grade, purity, appearance, purpose.
_CJK_QUANTITY = re.compile(
    r"\d+(?:[.,]\d+)?\s*(?:公斤|千克|毫克|克|吨|毫升|升|桶|袋|瓶|箱|件|包|罐|kgs?|g|mg|t|l|ml)(?![a-z])",
    re.IGNORECASE)
_CJK_NOISE_WORDS: tuple[str, ...] = tuple(sorted((
    "公斤", "千克", "毫克", "克", "吨", "毫升", "升", "桶", "袋", "瓶", "箱", "件", "包", "罐",
    "桶装", "袋装", "瓶装", "样品", "样本", "医药中间体", "农药中间体", "中间体", "原料药",
    "原料", "工业级", "医药级", "药用级", "食品级", "试剂级", "电子级", "分析纯", "化学纯",
    "优级纯", "高纯", "纯度", "含量", "白色粉末", "白色结晶", "类白色粉末", "淡黄色液体",
    "无色液体", "无色透明液体", "粉末", "结晶", "晶体", "液体", "固体", "颗粒", "无水",
    "现货", "供应", "出口", "进口", "用于", "实验室", "研究", "科研", "用途", "批号",
), key=len, reverse=True))
# Characters that continue a Chinese chemical name (numerals, element and group names,
# locants): a known name touching one of them is part of another chemical's name.
_CJK_NAME_CHARS = frozenset(
    "一二三四五六七八九十双单多聚甲乙丙丁戊己庚辛壬癸氯溴碘氟硝氨胺羟基酸酯醇醛酮醚烷烯炔"
    "苯酚萘吡啶哌嗪咪唑吲噻呋喃磺酰腈对邻间异正叔仲环联氧氢硫磷硅硼碳钾钠钙镁铜铁锌铝铵锂钡"
    "锰铬镍钴银汞铅锡铯化物代苄酐胍脲肼醌啉喹嘧吩噁唑")
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


class ChineseNames:
    """The known Chinese names, compiled for scanning text that has no spaces."""

    def __init__(self, names: Sequence[str]) -> None:
        from precursorwatch.chem.multilingual import _PREFIXES, _SUFFIXES

        wanted = sorted({normalise_text(n) for n in cjk_names(names)}, key=len, reverse=True)
        self.names = tuple(wanted)
        prefixes = [a for a, _ in _PREFIXES if has_cjk(a)]
        suffixes = [a for a, _ in _SUFFIXES if has_cjk(a)]
        alternation = "|".join(re.escape(n) for n in wanted) or r"(?!x)x"
        self._re = re.compile(
            f"(?:{'|'.join(prefixes)})?(?:{alternation})(?:{'|'.join(suffixes)})*",
            re.IGNORECASE)
        firsts = {n[0].casefold() for n in wanted} | {p[0] for p in prefixes}
        self._firsts = frozenset(firsts)

    def _match_at(self, text: str, i: int) -> re.Match[str] | None:
        if text[i].casefold() not in self._firsts:
            return None
        return self._re.match(text, i)

    def scan(self, text: str) -> list[tuple[int, int]]:
        """Spans of known names in `text` (already `normalise_text`-ed), left to right."""
        spans: list[tuple[int, int]] = []
        i, n, last_end = 0, len(text), -1
        while i < n:
            m = self._match_at(text, i)
            if m is None:
                i += 1
                continue
            s, e = m.span()
            before = text[s - 1] if s > 0 else ""
            after = text[e] if e < n else ""
            left_ok = (not before or s == last_end
                       or not (before in _CJK_NAME_CHARS
                               or (before.isascii() and (before.isalnum() or before == "-"))))
            # A name followed at once by another known name is a list ("丙酮甲苯").
            right_ok = (not after or not (after in _CJK_NAME_CHARS or after == "-")
                        or self._match_at(text, e) is not None)
            if left_ok and right_ok:
                spans.append((s, e))
                last_end = i = e
            else:
                i += 1
        return spans


@cache
def default_chinese_names() -> ChineseNames:
    """The bundled Chinese names and those the bundled control listings write."""
    from precursorwatch.controls.load import load_controls

    names = [n.name for n in bundled_vocabulary().names if n.language == "zh"]
    names += [name for x in load_controls().listings for lang, name in x.names if lang == "zh"]
    return ChineseNames(names)


def _chinese_mentions(text: str, names: ChineseNames) -> tuple[list[str], str]:
    """Known Chinese names in the text, and the text left for the word-by-word reading
    (names, Chinese noise and other Chinese words replaced by separators)."""
    shown = unicodedata.normalize("NFKC", text)
    text = normalise_text(text)
    if len(shown) != len(text):
        shown = text  # a conversion that changed lengths: show the simplified form
    text = _CJK_QUANTITY.sub(" ; ", text)
    found: list[str] = []
    rest: list[str] = []
    last = 0
    for s, e in names.scan(text):
        found.append(shown[s:e])
        rest.append(text[last:s])
        rest.append(" ; ")
        last = e
    rest.append(text[last:])
    left = "".join(rest)
    for word in _CJK_NOISE_WORDS:
        left = left.replace(word, " ; ")
    return found, _CJK_RUN.sub(" ; ", left)


_CJK_RUN = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]+")


def _runs(words: list[str]) -> list[list[str]]:
    runs: list[list[str]] = [[]]
    for w in words:
        if w:
            runs[-1].append(w)
        elif runs[-1]:
            runs.append([])
    return [r for r in runs if r]


def find_mentions(description: str, chinese: ChineseNames | None = None) -> Mentions:
    """CAS numbers and name candidates in a goods description (longest candidates first).

    `chinese`: the Chinese names to look for in Chinese text (default: the bundled ones and
    those of the bundled control listings)."""
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
    if has_cjk(text):
        found, text = _chinese_mentions(text, chinese or default_chinese_names())
        for name in found:
            if name.lower() not in seen:
                seen.add(name.lower())
                segment_no += 1
                candidates.append(Mention(name, "name", segment_no, 0, 1))
    for segment in _SEPARATORS.split(text):
        for run in _runs(_clean_segment(segment)):
            segment_no += 1
            run = run[:MAX_WORDS]
            n = len(run)
            for size in range(n, 0, -1):
                for start in range(0, n - size + 1):
                    words = run[start:start + size]
                    if words[0].lower() in _SALT_WORDS or \
                            words[0].lower() in _JOINING_WORDS or \
                            words[-1].lower() in _JOINING_WORDS:
                        continue
                    phrase = " ".join(words)
                    key = phrase.lower()
                    if len(phrase) < MIN_CANDIDATE_CHARS or key in seen:
                        continue
                    seen.add(key)
                    candidates.append(Mention(phrase, "name", segment_no, start, start + size))
    return Mentions(tuple(candidates), tuple(bad_cas))
