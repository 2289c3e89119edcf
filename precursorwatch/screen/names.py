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
from rapidfuzz import process
from rapidfuzz.distance import OSA

# Legal forms (en, es, zh-pinyin usage, de, fr, ru) and the generic words of trading names.
LEGAL_FORM_WORDS: frozenset[str] = frozenset({
    "co", "company", "companies", "corp", "corporation", "inc", "incorporated", "ltd", "limited",
    "llc", "llp", "lp", "plc", "pte", "pvt", "private", "sa", "s", "a", "de", "cv", "rl", "srl",
    "sas", "sac", "sl", "sapi", "gmbh", "ag", "kg", "bv", "nv", "oy", "ab", "as", "jsc", "ojsc",
    "ooo", "zao", "ltda", "pjsc", "kk", "sarl", "spa", "the", "and", "of", "y", "e", "cia", "group",
    "holding", "holdings", "enterprise", "enterprises", "partners", "firm", "branch", "sal",
    "eood", "ood",
})
# Arabic and Spanish articles: a clerk may leave out the "AL-" of "AL-AQSA", so they count for
# little, but not for nothing: "AL-QAIDA" is not "Kaida Trading Ltd.".
ARTICLE_WORDS: frozenset[str] = frozenset({"al", "el"})
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
    "limitada", "hk", "commercial",
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
    "ink": "inc",  # Cyrillic "инк."
}
# Dotted legal forms written many ways: "S.A. de C.V.", "S.A.DE C.V.", "S. de R.L."
_LEGAL_FORMS = (
    (re.compile(r"\bs\.?\s?a\.?\s?(?:p\.?\s?i\.?\s?)?de\s?c\.?\s?v\.?", re.I), " sa de cv "),
    (re.compile(r"\bs\.?\s?de\s?r\.?\s?l\.?(?:\s?de\s?c\.?\s?v\.?)?", re.I), " s de rl "),
    (re.compile(r"\bs\.\s?a\.(?=\s|$|,)", re.I), " sa "),
    (re.compile(r"\bco\.,?\s?ltd\.?", re.I), " co ltd "),
)
# Other dotted legal forms, letter by letter: "L.L.C.", "S.A.L.", "E.O.O.D.".
_DOTTED = re.compile(r"\b(?:[a-z]\.\s?){2,}", re.I)
_TOKEN = re.compile(r"[a-z0-9]+")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_VOWELS = str.maketrans("", "", "aeiouy")
# Scripts written without (most) vowels, or whose inherent vowels transliteration drops
# (Hebrew, Arabic, Thai): compare consonant skeletons.
_ABJAD_RANGES = ((0x0590, 0x05FF), (0x0600, 0x06FF), (0x0750, 0x077F), (0x0E00, 0x0E7F))
_DOUBLED = re.compile(r"(.)\1+")
# Common Latin spelling variants of the same sounds in transliterated names.
# "dzh" is how Cyrillic "Дж" comes out of transliteration: the "j" of Latin spellings.
_SPELLING = (("dzh", "j"), ("ph", "f"), ("kh", "h"), ("ck", "k"), ("q", "k"), ("w", "v"),
             ("j", "y"), ("ou", "u"), ("ee", "i"), ("dh", "d"), ("th", "t"), ("sch", "sh"),
             ("x", "ks"), ("z", "s"), ("c", "k"))


@dataclass(frozen=True, slots=True)
class NormName:
    """A name reduced for comparison."""

    original: str
    tokens: tuple[str, ...]
    weights: tuple[float, ...]
    compact: str  # significant tokens joined without spaces, sorted: order-free fast key
    abjad: bool  # written in Arabic/Hebrew script: compare consonant skeletons
    syllabic: bool = False  # written in Chinese characters: tokens are pinyin syllables
    organisation: bool = False  # has a legal-form or trade word: a company, not a person

    @property
    def significant(self) -> tuple[str, ...]:
        return tuple(t for t, w in zip(self.tokens, self.weights, strict=True) if w >= 1.0)


def _is_abjad(text: str) -> bool:
    return any(lo <= ord(ch) <= hi for ch in text for lo, hi in _ABJAD_RANGES)


@lru_cache(maxsize=100_000)
def _skeleton(token: str) -> str:
    """Consonants only, doubled letters once: "hassan" and "hsn" agree."""
    return _DOUBLED.sub(r"\1", token.translate(_VOWELS))


@lru_cache(maxsize=200_000)
def _phonetic(token: str) -> str:
    for a, b in _SPELLING:
        token = token.replace(a, b)
    return token


# Words a misspelling may stand for: long enough that one or two edits do not reach a name.
_WEAK_TARGETS = tuple(sorted(w for w in LEGAL_FORM_WORDS | GENERIC_TRADE_WORDS if len(w) >= 4))
# Legal forms proper and trade words: a name with one of them is a company's.
ORGANISATION_WORDS: frozenset[str] = (LEGAL_FORM_WORDS | GENERIC_TRADE_WORDS) - frozenset({
    "s", "a", "de", "the", "and", "of", "y", "e", "as", "new", "firm", "branch", "partners",
    "bio", "hk", "capital", "variable"})


# Trade words as they sound: "korp" (Cyrillic "корп") is "corp".
_WEAK_SOUNDS = {_phonetic(w): w for w in sorted(LEGAL_FORM_WORDS | GENERIC_TRADE_WORDS)
                if len(w) >= 4}


@lru_cache(maxsize=50_000)
def weak_word(token: str) -> str:
    """The legal-form or trade word `token` is, or misspells ("grup", "indusry", "comapny",
    "limtied"); "" for a distinctive word.

    One edit (a transposition counts as one) for words up to 7 letters, two beyond. A word of
    4 or 5 letters must keep its first letter and may not swap one letter for another:
    "core" is not "corp", "laos" is not "labs".
    """
    if token in LEGAL_FORM_WORDS or token in GENERIC_TRADE_WORDS:
        return token
    if token in PLACE_WORDS or token.isdigit():
        return ""
    if len(token) < 4:
        return ""
    if same := _WEAK_SOUNDS.get(_phonetic(token)):
        return same
    limit = 1 if len(token) < 8 else 2
    found = process.extractOne(token, _WEAK_TARGETS, scorer=OSA.distance, score_cutoff=limit)
    if found is None:
        return ""
    word = found[0]
    if len(token) <= 5 and word[1:] != token and (word[0] != token[0] or (
            len(word) == len(token) and sorted(word) != sorted(token))):
        return ""  # a first letter lost ("roup") is the one change allowed there
    return word


def _undot(m: re.Match[str]) -> str:
    letters = re.sub(r"[^a-z]", "", m.group(0).lower())
    return f" {letters} " if letters in LEGAL_FORM_WORDS else m.group(0)


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
    latin = _DOTTED.sub(_undot, latin)
    latin = latin.lower().replace("&", " and ").replace("`", "").replace("'", "")
    # A misspelt trade word is still a trade word, and reads as the word it misspells.
    tokens = tuple(_WORD_FOLD.get(w, w) for t in _TOKEN.findall(latin) for w in [weak_word(t) or t])
    weights = tuple(
        WEAK_WEIGHT if (t in LEGAL_FORM_WORDS or t in GENERIC_TRADE_WORDS or len(t) == 1)
        else PLACE_WEIGHT if t in PLACE_WORDS or t in ARTICLE_WORDS
        else 1.0
        for t in tokens
    )
    significant = [t for t, w in zip(tokens, weights, strict=True) if w >= 1.0] or list(tokens)
    compact = "".join(sorted(significant))
    organisation = any(t in ORGANISATION_WORDS for t in tokens)
    return NormName(name, tokens, weights, compact, abjad, bool(_CJK.search(name)), organisation)


# Romanisations of one Korean or Chinese syllable (McCune-Reischauer, Revised Romanisation,
# Wade-Giles, Cantonese, pinyin; "v" where Cyrillic writes "w"): the initials and finals that
# stand for the same sound...
_ROMAN_INITIALS = (("dzh", "j"), ("zh", "j"), ("ch", "j"), ("q", "j"), ("hs", "x"), ("ts", "z"),
                   ("tz", "z"), ("c", "z"), ("g", "k"), ("b", "p"), ("d", "t"), ("w", "v"))
_ROMAN_FINALS = (("eo", "o"), ("eu", "u"), ("oe", "oi"), ("ee", "i"), ("ou", "u"),
                 ("ung", "ong"), ("ih", "i"))
# ...and whole syllables whose spellings differ more than that.
_ROMAN_SYLLABLES: dict[str, str] = {
    s: group[0] for group in (
        ("li", "ri", "lee", "yi", "rhee", "rhie", "rhi", "i"), ("pak", "park", "bak"),
        ("o", "oh"), ("wu", "woo", "ng", "u"), ("wang", "wong", "huang", "hwang"),
        ("chen", "chan"), ("liu", "lau", "lew"), ("guo", "kwok", "kuo"), ("he", "ho"),
        ("xie", "tse", "hsieh"), ("ye", "yip", "yeh"), ("lin", "lam"), ("zhou", "chow", "chou"),
        ("yuan", "yuen"), ("mun", "moon"), ("sin", "shin"), ("choe", "choi", "chey", "choy"),
        ("zhang", "cheung", "chang", "jang"), ("liang", "leung"), ("zeng", "tsang", "tseng"),
        ("xu", "hsu", "hui"), ("yang", "yeung"), ("ma", "mah"),
    ) for s in group}
# One syllable as pinyin, Wade-Giles or Korean romanisation write it: an initial, a vowel
# cluster, a nasal or stop final. Words of European and Arabic names rarely fit ("Ahmd",
# "Hlal", "Noor" do not).
_SYLLABLE = re.compile(
    r"(?:zh|ch|sh|ts|tz|hs|[bpmfdtnlgkhjqxrzcsyw])?[aeiouy]{1,3}(?:ng|n|m|k|p|l)?")
_SILENT_H = re.compile(r"(?<=[aeiou])h")


@lru_cache(maxsize=100_000)
def is_syllable(token: str) -> bool:
    """`token` is shaped like one Chinese or Korean syllable ("zheng", "jeong", "kim")."""
    return len(token) <= 6 and _SYLLABLE.fullmatch(token) is not None


@lru_cache(maxsize=100_000)
def _roman_key(token: str) -> str:
    """One spelling for the romanisations of a syllable: "gim" and "kim", "jeong" and "jong",
    "hsi" and "xi", "choe" and "choi" agree; "zeng" and "peng", "kun" and "quan" do not."""
    token = _ROMAN_SYLLABLES.get(token, token)
    for a, b in _ROMAN_INITIALS:
        if token.startswith(a):
            token = b + token[len(a):]
            break
    for a, b in _ROMAN_FINALS:
        token = token.replace(a, b)
    # An "h" after a vowel is silent in the Latin spellings ("John" / Cyrillic "Джон", "Oh" /
    # "O"); pinyin writes none.
    token = _SILENT_H.sub("", token)
    return token[:-1] + "i" if token.endswith("y") and len(token) > 1 else token


@lru_cache(maxsize=500_000)
def _token_similarity(a: str, b: str, abjad: bool) -> float:
    if a == b:
        return 1.0
    if _roman_key(a) == _roman_key(b):
        return 0.9
    if not abjad and is_syllable(a) and is_syllable(b):
        # Syllables of Chinese and Korean names: one letter apart they are another name
        # ("Zeng" / "Peng", "Kun" / "Quan", "Jian" / "Jiang"). They agree only as spellings
        # of one syllable (above), or with two letters swapped. The Latin spelling folds
        # ("z" as "s", "c" as "k") would make "Zhou" of "Shu" and "Cai" of "Kai".
        if len(a) == len(b) and sorted(a) == sorted(b) and OSA.distance(a, b) == 1:
            return 0.75
        return 0.0
    if not abjad and (is_syllable(a) or is_syllable(b)):
        # A syllable against a longer word: as written, without the spelling folds, or
        # "Zhang" would be most of "Shangfu".
        sim = OSA.normalized_similarity(a, b)
        return sim if sim >= 0.7 else 0.0
    pa, pb = _phonetic(a), _phonetic(b)
    if pa == pb:
        return 1.0
    # OSA: two swapped letters are one slip, not two.
    sim = max(OSA.normalized_similarity(a, b), OSA.normalized_similarity(pa, pb))
    if abjad:
        sa, sb = _skeleton(pa), _skeleton(pb)
        if sa and sb:
            sim = max(sim, 0.95 * OSA.normalized_similarity(sa, sb))
    return sim if sim >= 0.7 else 0.0


def _assign(a: tuple[tuple[str, float], ...], b: tuple[tuple[str, float], ...], abjad: bool
            ) -> tuple[float, float]:
    """Each word of `a` paired with at most one of `b`, best pairs first: the weight of `a`
    and of `b` so matched (scaled by similarity). One "Li" cannot stand for both "Li" and
    "Ri" of "LI Hong Ri", nor one "Gomez" for two."""
    pairs = sorted(((s, i, j) for i, (ta, _) in enumerate(a) for j, (tb, _) in enumerate(b)
                    if (s := _token_similarity(ta, tb, abjad)) > 0.0), reverse=True)
    used_a: set[int] = set()
    used_b: set[int] = set()
    got_a = got_b = 0.0
    for s, i, j in pairs:
        if i not in used_a and j not in used_b:
            used_a.add(i)
            used_b.add(j)
            got_a += a[i][1] * s
            got_b += b[j][1] * s
    return got_a, got_b


# A word of the party's name that the listed name lacks costs this many times what a listed
# word the party's name lacks does: manifests shorten listed names (a middle name left out),
# while a listed name inside a longer one ("Martin Pharmaceuticals Inc." / MARTIN) is mostly
# somebody else.
QUERY_EXTRA_COST = 1.5


def _agreement(a: tuple[tuple[str, float], ...], b: tuple[tuple[str, float], ...],
               abjad: bool) -> float | None:
    if not a and not b:
        return None
    g1, g2 = _assign(a, b, abjad)
    t1 = sum(w for _, w in a)
    t2 = sum(w for _, w in b)
    if a and b and all(is_syllable(t) for t, _ in (*a, *b)):
        # A Chinese or Korean name has no middle name to leave out: "Li Yu" is not
        # "LI Cheng Yu". The less covered side decides.
        return min(g1 / t1, g2 / t2)
    total = QUERY_EXTRA_COST * t1 + t2
    return (QUERY_EXTRA_COST * g1 + g2) / total if total else 0.0


def _joined_similarity(a: str, b: str, abjad: bool) -> float:
    sim = max(OSA.normalized_similarity(a, b),
              OSA.normalized_similarity(_phonetic(a), _phonetic(b)))
    if abjad:
        sim = max(sim, 0.95 * OSA.normalized_similarity(_skeleton(_phonetic(a)),
                                                        _skeleton(_phonetic(b))))
    return sim


def _weak_kept(token: str) -> bool:
    return len(token) > 1 or token in LEGAL_FORM_WORDS


def name_similarity(a: NormName, b: NormName) -> float:
    """0..1: agreement of the party's name `a` with the listed name `b`: the distinctive words,
    scaled a little by the weak words. Words of `a` that `b` lacks cost more than the reverse
    (`QUERY_EXTRA_COST`).

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
        # A stray letter ("L-RAWI" for "AL-RAWI", an initial) is no legal form to disagree on.
        weak_a = tuple((t, 1.0) for t, w in pairs_a if w <= WEAK_WEIGHT and _weak_kept(t))
        weak_b = tuple((t, 1.0) for t, w in pairs_b if w <= WEAK_WEIGHT and _weak_kept(t))
    strong = _agreement(strong_a, strong_b, abjad) or 0.0
    sig_a = [t for t, w in strong_a if w >= 1.0] or [t for t, _ in strong_a]
    sig_b = [t for t, w in strong_b if w >= 1.0] or [t for t, _ in strong_b]
    # Joined only where the words are cut differently: with as many words on each side the
    # word-by-word comparison has said it all, and "zengbo" / "pengbo" would undo its rule
    # for short words.
    if len(sig_a) != len(sig_b):
        joined = _joined_similarity("".join(sig_a), "".join(sig_b), abjad)
        # The joined form ignores place words; it may not beat the token score by more than
        # they would have added.
        place_free = all(w >= 1.0 for _, w in (*strong_a, *strong_b))
        strong = max(strong, joined if place_free else min(joined, strong + 0.1))
    # Place words included, in written order: pinyin split per syllable ("Wu Han Shuo Kang")
    # against the same name written per word ("Wuhan Shuokang").
    # Only for names written in Chinese characters: elsewhere a shared city name would make
    # "Wuhan Jinhe" look like "Wuhan Jinhao".
    if a.syllabic or b.syllabic:
        whole_a = "".join(t for t, _ in strong_a)
        whole_b = "".join(t for t, _ in strong_b)
        strong = max(strong, OSA.normalized_similarity(whole_a, whole_b))
    weak = _agreement(weak_a, weak_b, abjad)
    score = strong * (0.85 + 0.15 * (1.0 if weak is None else weak))
    return round(min(score, 1.0), 4)
