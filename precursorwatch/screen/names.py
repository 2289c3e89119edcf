"""Party-name normalisation and comparison, transliteration-aware.

Names are transliterated to Latin (anyascii: Cyrillic, Greek, CJK as pinyin syllables, Arabic,
Hebrew), folded to lower-case tokens, and each token gets a weight: legal-form and generic trade
words ("Co.", "Ltd", "S.A. de C.V.", "Trading", "Technology", "Chemical") weigh little, so two
unrelated "... Chemical Co., Ltd." companies do not look alike.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from anyascii import anyascii
from rapidfuzz.distance import Levenshtein

# Legal forms (en, es, zh-pinyin usage, de, fr, ru) and the generic words of trading names.
LEGAL_FORM_WORDS: frozenset[str] = frozenset({
    "co", "company", "companies", "corp", "corporation", "inc", "incorporated", "ltd", "limited",
    "llc", "llp", "lp", "plc", "pte", "pvt", "private", "sa", "s", "a", "de", "cv", "rl", "srl",
    "sas", "sac", "sl", "sapi", "gmbh", "ag", "kg", "bv", "nv", "oy", "ab", "as", "jsc", "ojsc",
    "ooo", "zao", "pjsc", "kk", "sarl", "spa", "the", "and", "of", "y", "e", "cia", "group",
    "holding", "holdings", "enterprise", "enterprises", "partners", "firm", "branch",
})
GENERIC_TRADE_WORDS: frozenset[str] = frozenset({
    "trading", "trade", "traders", "import", "export", "imp", "exp", "importadora",
    "exportadora", "comercializadora", "comercial", "distribuidora", "industrial",
    "industries", "industry", "industrias", "international", "intl", "internacional",
    "technology", "technologies", "tech", "science", "sciences", "scientific",
    "chemical", "chemicals", "chem", "chemistry", "quimica", "quimicos", "pharmaceutical",
    "pharmaceuticals", "pharma", "pharmatech", "biotech", "biotechnology", "biological", "bio",
    "biochem", "medicine", "medical", "materials", "material", "new", "products", "product",
    "development", "supply", "supplies", "services", "service", "logistics", "solutions",
    "manufacturing", "manufacturer", "factory", "works", "plant", "lab", "labs", "laboratory",
    "laboratories", "servicios", "sociedad", "anonima", "variable", "capital", "responsabilidad",
    "limitada", "hk",
})
# Provinces and cities that open most Chinese and many Mexican company names: they tell
# companies apart less than the trade name does.
PLACE_WORDS: frozenset[str] = frozenset({
    "shanghai", "beijing", "shenzhen", "guangzhou", "wuhan", "hubei", "hebei", "henan",
    "jiangsu", "zhejiang", "shandong", "anhui", "nanjing", "suzhou", "tianjin", "chongqing",
    "hangzhou", "xiamen", "fujian", "guangdong", "qingdao", "jinan", "changsha", "hunan",
    "sichuan", "chengdu", "shaanxi", "xian", "liaoning", "dalian", "hong", "kong", "china",
    "asia", "mexico", "jalisco", "sinaloa", "sonora", "tijuana", "guadalajara", "culiacan",
    "monterrey", "usa", "america", "india", "mumbai", "hyderabad",
})
# Chinese company-name terms (longest first) -> the English words weighed above.
_ZH_TERMS: tuple[tuple[str, str], ...] = (
    ("有限责任公司", " co ltd "), ("股份有限公司", " co ltd "), ("有限公司", " co ltd "),
    ("进出口", " import export "), ("新材料", " new material "), ("生物科技", " bio technology "),
    ("科技", " technology "), ("技术", " technology "), ("生物", " bio "), ("化工", " chemical "),
    ("化学", " chemical "), ("医药", " pharmaceutical "), ("制药", " pharmaceutical "),
    ("药业", " pharmaceutical "), ("贸易", " trading "), ("商贸", " trading "),
    ("实业", " industrial "), ("工业", " industrial "), ("集团", " group "), ("公司", " co "),
    ("国际", " international "), ("物流", " logistics "), ("香港", " hong kong "),
)
_CJK = re.compile(r"[\u4e00-\u9fff]")
WEAK_WEIGHT = 0.15
PLACE_WEIGHT = 0.35
# Spelling variants of legal forms and trade words, folded before weighing.
_WORD_FOLD: dict[str, str] = {
    "company": "co", "companies": "co", "limited": "ltd", "corporation": "corp",
    "incorporated": "inc", "chemicals": "chemical", "chem": "chemical", "quimicos": "quimica",
    "technologies": "technology", "tech": "technology", "pharmaceuticals": "pharmaceutical",
    "pharma": "pharmaceutical", "biotech": "biotechnology", "intl": "international",
    "internacional": "international", "industries": "industry", "industrias": "industry",
    "sciences": "science", "labs": "lab", "laboratories": "lab", "laboratory": "lab",
    "products": "product", "materials": "material", "holdings": "holding",
}
# Dotted legal forms written many ways: "S.A. de C.V.", "S.A.DE C.V.", "S. de R.L."
_LEGAL_FORMS = (
    (re.compile(r"\bs\.?\s?a\.?\s?(?:p\.?\s?i\.?\s?)?de\s?c\.?\s?v\.?", re.I), " sa de cv "),
    (re.compile(r"\bs\.?\s?de\s?r\.?\s?l\.?(?:\s?de\s?c\.?\s?v\.?)?", re.I), " s de rl "),
    (re.compile(r"\bs\.\s?a\.(?=\s|$|,)", re.I), " sa "),
    (re.compile(r"\bco\.,?\s?ltd\.?", re.I), " co ltd "),
)
_TOKEN = re.compile(r"[a-z0-9]+")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_VOWELS = str.maketrans("", "", "aeiouy")
# Scripts written without (most) vowels, or whose inherent vowels transliteration drops
# (Hebrew, Arabic, Thai): compare consonant skeletons.
_ABJAD_RANGES = ((0x0590, 0x05FF), (0x0600, 0x06FF), (0x0750, 0x077F), (0x0E00, 0x0E7F))
_DOUBLED = re.compile(r"(.)\1+")
# Common Latin spelling variants of the same sounds in transliterated names.
_SPELLING = (("ph", "f"), ("kh", "h"), ("ck", "k"), ("q", "k"), ("w", "v"), ("j", "y"),
             ("ou", "u"), ("ee", "i"), ("dh", "d"), ("th", "t"), ("sch", "sh"), ("x", "ks"),
             ("z", "s"), ("c", "k"))


@dataclass(frozen=True, slots=True)
class NormName:
    """A name reduced for comparison."""

    original: str
    tokens: tuple[str, ...]
    weights: tuple[float, ...]
    compact: str  # significant tokens joined without spaces, sorted: order-free fast key
    abjad: bool  # written in Arabic/Hebrew script: compare consonant skeletons
    syllabic: bool = False  # written in Chinese characters: tokens are pinyin syllables

    @property
    def significant(self) -> tuple[str, ...]:
        return tuple(t for t, w in zip(self.tokens, self.weights, strict=True) if w >= 1.0)


def _is_abjad(text: str) -> bool:
    return any(lo <= ord(ch) <= hi for ch in text for lo, hi in _ABJAD_RANGES)


def _skeleton(token: str) -> str:
    """Consonants only, doubled letters once: "hassan" and "hsn" agree."""
    return _DOUBLED.sub(r"\1", token.translate(_VOWELS))


def _phonetic(token: str) -> str:
    for a, b in _SPELLING:
        token = token.replace(a, b)
    return token


@lru_cache(maxsize=200_000)
def normalise_name(name: str) -> NormName:
    """Transliterate, split camel-cased pinyin syllables, fold case, weigh tokens."""
    abjad = _is_abjad(name)
    text = unicodedata.normalize("NFKC", name)
    if _CJK.search(text):
        # Chinese legal forms and trade words, as words the weighing knows.
        for zh, en in _ZH_TERMS:
            text = text.replace(zh, en)
    latin = anyascii(text)
    if latin != name:
        # anyascii writes CJK as "JinZhengEn": one token per syllable.
        latin = _CAMEL.sub(" ", latin)
    for rx, repl in _LEGAL_FORMS:
        latin = rx.sub(repl, latin)
    latin = latin.lower().replace("&", " and ").replace("`", "").replace("'", "")
    tokens = tuple(_WORD_FOLD.get(t, t) for t in _TOKEN.findall(latin))
    weights = tuple(
        WEAK_WEIGHT if (t in LEGAL_FORM_WORDS or t in GENERIC_TRADE_WORDS or len(t) == 1)
        else PLACE_WEIGHT if t in PLACE_WORDS
        else 1.0
        for t in tokens
    )
    significant = [t for t, w in zip(tokens, weights, strict=True) if w >= 1.0] or list(tokens)
    compact = "".join(sorted(significant))
    return NormName(name, tokens, weights, compact, abjad, bool(_CJK.search(name)))


def _token_similarity(a: str, b: str, abjad: bool) -> float:
    if a == b:
        return 1.0
    sim = Levenshtein.normalized_similarity(a, b)
    pa, pb = _phonetic(a), _phonetic(b)
    sim = max(sim, Levenshtein.normalized_similarity(pa, pb))
    if abjad:
        sa, sb = _skeleton(pa), _skeleton(pb)
        if sa and sb:
            sim = max(sim, 0.95 * Levenshtein.normalized_similarity(sa, sb))
    return sim if sim >= 0.7 else 0.0


def _side(src: tuple[tuple[str, float], ...], dst: tuple[str, ...], abjad: bool
          ) -> tuple[float, float]:
    got = total = 0.0
    for tok, w in src:
        total += w
        best = 0.0
        for other in dst:
            s = _token_similarity(tok, other, abjad)
            if s > best:
                best = s
                if best == 1.0:
                    break
        got += w * best
    return got, total


def _agreement(a: tuple[tuple[str, float], ...], b: tuple[tuple[str, float], ...],
               abjad: bool) -> float | None:
    if not a and not b:
        return None
    g1, t1 = _side(a, tuple(t for t, _ in b), abjad)
    g2, t2 = _side(b, tuple(t for t, _ in a), abjad)
    return (g1 + g2) / (t1 + t2) if t1 + t2 else 0.0


def name_similarity(a: NormName, b: NormName) -> float:
    """0..1: agreement of the distinctive words, scaled a little by the weak words.

    Distinctive words are compared token by token both ways (typos, transliteration variants)
    and also joined without spaces ("Xi Jin Ping" / "Xi Jinping", "Kai Kai" / "Kaikai"); the
    better wins. Legal-form and trade words then move the score by at most 15%, so two
    "... Chemical Co., Ltd." companies with different trade names stay far apart.
    """
    if not a.tokens or not b.tokens:
        return 0.0
    abjad = a.abjad or b.abjad
    pairs_a = tuple(zip(a.tokens, a.weights, strict=True))
    pairs_b = tuple(zip(b.tokens, b.weights, strict=True))
    strong_a = tuple((t, w) for t, w in pairs_a if w > WEAK_WEIGHT)
    strong_b = tuple((t, w) for t, w in pairs_b if w > WEAK_WEIGHT)
    if not strong_a or not strong_b:
        # A name made only of generic words: every word counts the same.
        strong_a = tuple((t, 1.0) for t, _ in pairs_a)
        strong_b = tuple((t, 1.0) for t, _ in pairs_b)
        weak_a: tuple[tuple[str, float], ...] = ()
        weak_b: tuple[tuple[str, float], ...] = ()
    else:
        weak_a = tuple((t, 1.0) for t, w in pairs_a if w <= WEAK_WEIGHT)
        weak_b = tuple((t, 1.0) for t, w in pairs_b if w <= WEAK_WEIGHT)
    strong = _agreement(strong_a, strong_b, abjad) or 0.0
    ja = "".join(t for t, w in strong_a if w >= 1.0) or "".join(t for t, _ in strong_a)
    jb = "".join(t for t, w in strong_b if w >= 1.0) or "".join(t for t, _ in strong_b)
    joined = max(Levenshtein.normalized_similarity(ja, jb),
                 Levenshtein.normalized_similarity(_phonetic(ja), _phonetic(jb)))
    if abjad:
        joined = max(joined, 0.95 * Levenshtein.normalized_similarity(
            _skeleton(_phonetic(ja)), _skeleton(_phonetic(jb))))
    # The joined form ignores place words; it may not beat the token score by more than they
    # would have added.
    place_free = all(w >= 1.0 for _, w in (*strong_a, *strong_b))
    strong = max(strong, joined if place_free else min(joined, strong + 0.1))
    # Place words included, in written order: pinyin split per syllable ("Wu Han Shuo Kang")
    # against the same name written per word ("Wuhan Shuokang").
    # Only for names written in Chinese characters: elsewhere a shared city name would make
    # "Wuhan Jinhe" look like "Wuhan Jinhao".
    if a.syllabic or b.syllabic:
        whole_a = "".join(t for t, _ in strong_a)
        whole_b = "".join(t for t, _ in strong_b)
        strong = max(strong, Levenshtein.normalized_similarity(whole_a, whole_b))
    weak = _agreement(weak_a, weak_b, abjad)
    score = strong * (0.85 + 0.15 * (1.0 if weak is None else weak))
    return round(min(score, 1.0), 4)
