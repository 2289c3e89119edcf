"""Spanish and Chinese names: the data file, the structures they lead to, salts, both sides."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from precursorwatch.chem.multilingual import (
    ForeignName,
    bundled_vocabulary,
    has_cjk,
    name_key,
    read_names_file,
    split_salt_affixes,
)
from precursorwatch.chem.opsin import java_available, names_to_smiles
from precursorwatch.chem.structure import from_smiles
from precursorwatch.controls.load import load_controls
from precursorwatch.detect.check import Checker

DATA = read_names_file()
CHEMICALS: list[dict[str, Any]] = DATA["chemicals"]


@pytest.fixture(scope="module")
def checker() -> Checker:
    # OPSIN is not needed to read a name; leaving it out keeps a miss a miss (no IUPAC guess).
    return Checker(load_controls(), use_opsin=False)


def _names(item: dict[str, Any]) -> list[tuple[str, str]]:
    return [(lang, n) for lang in ("es", "zh") for n in item.get(lang) or []]


# -- the data file --------------------------------------------------------------------------

def test_every_entry_is_cited_and_says_what_its_source_shows() -> None:
    sources = DATA["sources"]
    for item in CHEMICALS:
        label = item.get("substance") or item.get("ref") or item["define"]["name"]
        assert item.get("sources"), label
        for key in item["sources"]:
            assert key in sources, (label, key)
        basis = item.get("basis") or {}
        for lang, _ in _names(item):
            assert basis.get(lang) in {"instrument", "report", "systematic"}, (label, lang)
        if item["sources"] == ["unverified"]:
            assert set(basis.values()) == {"systematic"}, label
    for key, src in sources.items():
        assert src["what"], key
        assert key == "unverified" or src["url"].startswith("http"), key


def test_chinese_names_are_chinese_and_spanish_names_are_not() -> None:
    for item in CHEMICALS:
        for lang, name in _names(item):
            assert isinstance(name, str), (lang, name)  # "3,4-…" unquoted splits in YAML
            assert has_cjk(name) == (lang == "zh") or name == "碘", (lang, name)


def test_every_name_reaches_a_chemical(checker: Checker) -> None:
    assert checker.resolver.foreign.unplaced == []
    for item in CHEMICALS:
        for _, name in _names(item):
            res = checker.resolver.resolve(name)
            assert res.resolved, name


def test_no_name_means_two_chemicals(checker: Checker) -> None:
    """A key shared by two chemicals, or a foreign name that is another chemical's English
    name, would silently pick one of them."""
    owner: dict[str, str] = {}
    for item in CHEMICALS:
        target = str(item.get("substance") or item.get("ref") or item["define"]["smiles"])
        for _, name in _names(item):
            key = name_key(name)
            assert owner.setdefault(key, target) == target, (name, owner[key], target)
            english = checker.resolver.index.lookup(name)
            mine = checker.resolver.resolve(name)
            if english is not None and mine.structure is not None:
                assert from_smiles(english.entry.smiles).skeleton_key == \
                    mine.structure.skeleton_key, (name, english.entry.name)


def test_the_cas_number_and_the_names_lead_to_the_same_structure(checker: Checker) -> None:
    checked = 0
    for item in CHEMICALS:
        if not item.get("cas"):
            continue
        by_cas = checker.resolver.resolve(str(item["cas"]))
        assert by_cas.structure is not None, item["cas"]
        for _, name in _names(item):
            res = checker.resolver.resolve(name)
            assert res.structure is not None
            assert res.structure.inchikey == by_cas.structure.inchikey, (name, item["cas"])
            checked += 1
    assert checked > 150


@pytest.mark.skipif(not java_available(), reason="OPSIN needs Java")
def test_names_match_opsin_reading_of_an_independent_english_name(checker: Checker) -> None:
    """The structure a Spanish or Chinese name gives is the one OPSIN builds from a
    systematic English name written in the data file, not from the control data."""
    items = [i for i in CHEMICALS if i.get("en")]
    smiles = names_to_smiles([str(i["en"]) for i in items])
    compared = 0
    for item, smi in zip(items, smiles, strict=True):
        if smi is None:
            continue  # a trivial name OPSIN does not know
        expected = from_smiles(smi)
        for _, name in _names(item):
            res = checker.resolver.resolve(name)
            assert res.structure is not None, name
            assert res.structure.skeleton_key == expected.skeleton_key, (name, item["en"])
            compared += 1
    assert compared > 100


# -- salts and word order -------------------------------------------------------------------

@pytest.mark.parametrize(("text", "base", "words"), [
    ("clorhidrato de efedrina", "efedrina", ("hydrochloride",)),
    ("efedrina clorhidrato", "efedrina", ("hydrochloride",)),
    ("Efedrina HCl", "efedrina", ("hydrochloride",)),
    ("citrato de fentanilo", "fentanilo", ("citrate",)),
    ("sulfato de seudoefedrina", "seudoefedrina", ("sulfate",)),
    ("盐酸麻黄碱", "麻黄碱", ("hydrochloride",)),
    ("麻黄碱盐酸盐", "麻黄碱", ("hydrochloride",)),
    ("4-哌啶酮盐酸盐一水合物", "4哌啶酮", ("hydrochloride", "monohydrate")),
    ("硫酸伪麻黄碱", "伪麻黄碱", ("sulfate",)),
    ("去甲芬太尼一水合物", "去甲芬太尼", ("monohydrate",)),
])
def test_salt_words_in_spanish_and_chinese_word_order(text: str, base: str,
                                                      words: tuple[str, ...]) -> None:
    known = {name_key(n.name) for n in bundled_vocabulary().names}
    assert split_salt_affixes(name_key(text), known)[0] == (base, words)


# -- real substances, both sides ------------------------------------------------------------

CAUGHT = [
    # input, the substance's name, language, salt words
    ("efedrina", "ephedrine", "es", ()),
    ("EFEDRINA", "ephedrine", "es", ()),
    ("麻黄碱", "ephedrine", "zh", ()),
    ("麻黄素", "ephedrine", "zh", ()),
    ("醋酸酐", "acetic anhydride", "zh", ()),
    ("乙酸酐", "acetic anhydride", "zh", ()),
    ("anhídrido acético", "acetic anhydride", "es", ()),
    ("Anhidrido acetico", "acetic anhydride", "es", ()),
    ("permanganato de potasio", "potassium permanganate", "es", ()),
    ("高锰酸钾", "potassium permanganate", "zh", ()),
    ("N-苯乙基-4-哌啶酮", "N-phenethyl-4-piperidone", "zh", ()),
    ("Ｎ－苯乙基－４－哌啶酮", "N-phenethyl-4-piperidone", "zh", ()),  # full-width forms
    ("N-fenetil-4-piperidona", "N-phenethyl-4-piperidone", "es", ()),
    ("4-苯胺基-N-苯乙基哌啶", "4-anilino-N-phenethylpiperidine", "zh", ()),
    ("4-anilino-N-fenetilpiperidina", "4-anilino-N-phenethylpiperidine", "es", ()),
    ("4-苯胺基哌啶", "4-anilinopiperidine", "zh", ()),
    ("1-叔丁氧羰基-4-苯胺基哌啶", "tert-butyl 4-(phenylamino)piperidine-1-carboxylate", "zh", ()),
    ("N-叔丁氧羰基-4-哌啶酮", "1-boc-4-piperidone", "zh", ()),
    ("去甲芬太尼", "norfentanyl", "zh", ()),
    ("norfentanilo", "norfentanyl", "es", ()),
    ("fentanilo", "fentanyl", "es", ()),
    ("芬太尼", "fentanyl", "zh", ()),
    ("seudoefedrina", "pseudoephedrine", "es", ()),
    ("pseudoefedrina", "pseudoephedrine", "es", ()),
    ("伪麻黄碱", "pseudoephedrine", "zh", ()),
    ("fenilpropanolamina", "norephedrine", "es", ()),
    ("1-苯基-2-丙酮", "1-phenyl-2-propanone", "zh", ()),
    ("苯基丙酮", "1-phenyl-2-propanone", "zh", ()),
    ("3,4-亚甲基二氧苯基-2-丙酮", "3,4-methylenedioxyphenyl-2-propanone", "zh", ()),
    ("胡椒醛", "piperonal", "zh", ()),
    ("洋茉莉醛", "piperonal", "zh", ()),
    ("黄樟素", "safrole", "zh", ()),
    ("isosafrol", "isosafrole", "es", ()),
    ("邻氨基苯甲酸", "anthranilic acid", "zh", ()),
    ("ácido antranílico", "anthranilic acid", "es", ()),
    ("N-乙酰邻氨基苯甲酸", "N-acetylanthranilic acid", "zh", ()),
    ("苯乙酸", "phenylacetic acid", "zh", ()),
    ("麦角新碱", "ergometrine", "zh", ()),
    ("ácido lisérgico", "lysergic acid", "es", ()),
    ("丙酮", "acetone", "zh", ()),
    ("acetona", "acetone", "es", ()),
    ("tolueno", "toluene", "es", ()),
    ("éter etílico", "ethyl ether", "es", ()),
    ("乙醚", "ethyl ether", "zh", ()),
    ("ácido clorhídrico", "hydrochloric acid", "es", ()),
    ("盐酸", "hydrochloric acid", "zh", ()),
    ("硫酸", "sulphuric acid", "zh", ()),
    ("metiletilcetona", "methyl ethyl ketone", "es", ()),
    ("2-butanona", "methyl ethyl ketone", "es", ()),
    ("piperidina", "piperidine", "es", ()),
    ("哌啶", "piperidine", "zh", ()),
    ("丙酸酐", "propionic anhydride", "zh", ()),
    ("cloruro de propionilo", "propionyl chloride", "es", ()),
    ("丙酰氯", "propionyl chloride", "zh", ()),
    # salts and hydrates, in both word orders
    ("clorhidrato de efedrina", "ephedrine", "es", ("hydrochloride",)),
    ("efedrina clorhidrato", "ephedrine", "es", ("hydrochloride",)),
    ("盐酸麻黄碱", "ephedrine", "zh", ("hydrochloride",)),
    ("麻黄碱盐酸盐", "ephedrine", "zh", ("hydrochloride",)),
    ("4-哌啶酮盐酸盐一水合物", "4-piperidone", "zh", ("hydrochloride", "monohydrate")),
    ("citrato de fentanilo", "fentanyl", "es", ("citrate",)),
    # traditional characters (Hong Kong, Taiwan)
    ("麻黃鹼", "ephedrine", "zh", ()),
    ("高錳酸鉀", "potassium permanganate", "zh", ()),
    ("鹽酸麻黃鹼", "ephedrine", "zh", ("hydrochloride",)),
    ("4-哌啶酮鹽酸鹽一水合物", "4-piperidone", "zh", ("hydrochloride", "monohydrate")),
    ("dicloridrato de N-fenil-4-piperidinamina", "4-anilinopiperidine", "es",
     ("dihydrochloride",)),
]


@pytest.mark.parametrize(("text", "name", "language", "salts"), CAUGHT)
def test_listed_substances_answer_to_their_spanish_and_chinese_names(
        checker: Checker, text: str, name: str, language: str, salts: tuple[str, ...]) -> None:
    v = checker.check(text)
    assert v.verdict == "controlled", (text, v.reason)
    assert v.name == name
    assert v.language == language
    assert v.resolved_by == "synonym"
    bases = {m.basis for m in v.matches}
    if salts:
        assert "salt" in bases and "identity" not in bases, bases
        assert all(all(w in m.explanation for w in salts)
                   for m in v.matches if m.basis == "salt")
    else:
        assert "salt" not in bases


def test_english_names_still_say_english(checker: Checker) -> None:
    for text in ("ephedrine", "piperonal", "4-piperidone HCl H2O"):
        assert checker.check(text).language == "en", text
    assert checker.check("39742-60-4").language is None  # a number is no language


def test_sodium_permanganate_is_not_potassium_permanganate(checker: Checker) -> None:
    for text in ("permanganato de sodio", "高锰酸钠"):
        v = checker.check(text)
        assert v.name != "potassium permanganate", text
        assert "potassium permanganate" not in {m.substance for m in v.matches}, text


@pytest.mark.parametrize("text", [
    "sulfato de potasio",  # potassium sulfate: not sulphuric acid, not a salt of "potasio"
    "硫酸钾",  # the same in Chinese
    "二甲苯",  # xylene, not toluene
    "丙酮酸",  # pyruvic acid, not acetone
    "盐酸二甲双胍",  # metformin hydrochloride: not hydrochloric acid
    "咖啡因",  # caffeine
    "cafeína anhidra",
    "聚乙烯颗粒",
])
def test_other_chemicals_are_left_alone(checker: Checker, text: str) -> None:
    v = checker.check(text)
    assert v.verdict in {"unresolved", "clear"}, (text, v.name, v.verdict)


@pytest.mark.parametrize(("text", "name", "salts"), [
    ("咖啡因", "caffeine", ()),
    ("cafeína", "caffeine", ()),
    ("盐酸二甲双胍", "metformin", ("hydrochloride",)),
    ("柠檬酸", "citric acid", ()),
    ("乙酸乙酯", "ethyl acetate", ()),
    ("acetato de etilo", "ethyl acetate", ()),
])
def test_everyday_chemicals_are_named_and_cleared(checker: Checker, text: str, name: str,
                                                  salts: tuple[str, ...]) -> None:
    res = checker.resolver.resolve(text)
    assert (res.name, res.salt_words) == (name, salts)
    assert checker.check(text).verdict == "clear"


def test_a_chinese_name_nobody_knows_says_so(checker: Checker) -> None:
    v = checker.check("某种未知化合物")
    assert v.verdict == "unresolved"
    assert v.reason is not None and "Chinese name" in v.reason


def test_chemicals_known_only_by_these_names_resolve_in_every_language(
        checker: Checker) -> None:
    found = {text: checker.check(text) for text in ("methylephedrine", "metilefedrina",
                                                    "甲基麻黄碱", "552-79-4")}
    assert len({v.inchikey for v in found.values()}) == 1, found
    assert [v.language for v in found.values()] == ["en", "es", "zh", None]
    for text, v in found.items():
        # an N-methyl ephedrine: listed, or at least close by structure, never "clear"
        assert v.verdict in {"controlled", "watch", "designer"}, (text, v.verdict)


def test_the_names_a_listing_writes_are_understood_with_their_language() -> None:
    controls = load_controls()
    first = next(x for x in controls.listings if x.substance == "ephedrine")
    # Canada's French name is spelt as the English one but for its accents: English it stays.
    named = dataclasses.replace(first, names=(("fr", "éphédrine"), ("zh", "左旋麻黄碱"),
                                              ("en", "levo-ephedrine")))
    listings = tuple(named if x is first else x for x in controls.listings)
    checker = Checker(dataclasses.replace(controls, listings=listings), use_opsin=False)
    for text, language in (("éphédrine", "en"), ("Ephedrine", "en"), ("左旋麻黄碱", "zh"),
                           ("左旋麻黄碱盐酸盐", "zh"), ("Levo-Ephedrine", "en")):
        v = checker.check(text)
        assert (v.name, v.language, v.verdict) == ("ephedrine", language, "controlled"), text
    anhydride = next(x for x in controls.listings if x.substance == "acetic-anhydride")
    named = dataclasses.replace(anhydride, names=(("fr", "anhydride acétique"),))
    listings = tuple(named if x is anhydride else x for x in controls.listings)
    checker = Checker(dataclasses.replace(controls, listings=listings), use_opsin=False)
    v = checker.check("Anhydride acetique")
    assert (v.name, v.language) == ("acetic anhydride", "fr")


def test_a_listing_name_without_a_chemical_is_kept_aside() -> None:
    vocab = bundled_vocabulary().with_names([ForeignName("zh", "无此物", ref="listed:nothing")])
    from precursorwatch.chem.resolve import Resolver

    resolver = Resolver([], use_opsin=False, foreign_names=vocab)
    assert [n.name for n in resolver.foreign.unplaced if n.name == "无此物"] == ["无此物"]


def test_every_name_a_listing_writes_leads_to_that_listings_substance(
        checker: Checker) -> None:
    """The names as Mexico's, China's, Canada's instruments write them (controls data)."""
    controls = checker.controls
    labels: dict[str, set[str]] = {}
    for x in controls.listings:
        for _, name in x.names:
            labels.setdefault(name_key(name), set()).add(x.substance)
    checked = 0
    for x in controls.listings:
        for lang, name in x.names:
            if len(labels[name_key(name)]) > 1:
                continue  # a family label ("BMK glycidic acid and its esters"): ambiguous
            res = checker.resolver.resolve(name)
            expected = from_smiles(controls.substance(x.substance).smiles)
            assert res.structure is not None, (x.jurisdiction, lang, name, res.reason)
            assert res.structure.skeleton_key == expected.skeleton_key, (name, res.name)
            if lang != "en":
                assert res.language in {lang, "en"}, (name, res.language)
            checked += 1
    assert checked > 0
