"""Finding chemical mentions in goods descriptions (finding only; the Checker identifies)."""

from __future__ import annotations

import pytest

from precursorwatch.screen.mentions import find_mentions

CASES = [
    ("4-Piperidone HCl H2O 99% white powder 1kg",
     ["4-Piperidone HCl H2O", "4-Piperidone HCl", "4-Piperidone"], []),
    ("N-(1-Phenethyl-4-piperidyl)propionanilide",
     ["N-(1-Phenethyl-4-piperidyl)propionanilide"], []),
    ("CAS 40064-34-4 pharma intermediate", ["40064-34-4"], []),
    ("BOC-4-AP 25KG/DRUM", ["BOC-4-AP"], []),
    ("CAS No. 79099-07-3, tert-butyl 4-oxopiperidine-1-carboxylate 98% min",
     ["79099-07-3", "tert-butyl 4-oxopiperidine-1-carboxylate", "tert-butyl",
      "4-oxopiperidine-1-carboxylate"], []),
    ("Norfentanyl CAS 1609-66-5", ["Norfentanyl"], ["1609-66-5"]),
    ("Glycerol 99.7% USP, IBC", ["Glycerol"], []),
    ("Acetone; toluene / xylene", ["Acetone", "toluene", "xylene"], []),
]


@pytest.mark.parametrize(("description", "names", "bad"), CASES)
def test_candidates(description: str, names: list[str], bad: list[str]) -> None:
    found = find_mentions(description)
    assert [m.text for m in found.candidates] == names
    assert list(found.bad_cas) == bad


def test_salt_words_never_start_a_candidate() -> None:
    texts = [m.text for m in find_mentions("4-AP dihydrochloride").candidates]
    assert "dihydrochloride" not in texts
    assert texts[0] == "4-AP dihydrochloride"


def test_sub_phrases_carry_positions_for_overlap_checks() -> None:
    found = find_mentions("tert-butyl 4-oxopiperidine-1-carboxylate")
    spans = {m.text: (m.segment, m.start, m.end) for m in found.candidates}
    assert spans["tert-butyl 4-oxopiperidine-1-carboxylate"] == (1, 0, 2)
    assert spans["4-oxopiperidine-1-carboxylate"] == (1, 1, 2)


CHINESE_AND_SPANISH = [
    ("N-苯乙基-4-哌啶酮 25公斤 医药中间体", ["N-苯乙基-4-哌啶酮"]),
    ("出口N-苯乙基-4-哌啶酮25公斤医药中间体", ["N-苯乙基-4-哌啶酮"]),  # no spaces at all
    ("4-哌啶酮盐酸盐一水合物", ["4-哌啶酮盐酸盐一水合物"]),
    ("去甲芬太尼 样品", ["去甲芬太尼"]),
    ("盐酸麻黄碱 1kg", ["盐酸麻黄碱"]),
    ("丙酮甲苯混合溶剂", ["丙酮", "甲苯"]),  # a list written without separators
    ("NPP 医药中间体 99%", ["NPP"]),  # Latin text beside Chinese is read word by word
    ("Ｎ－苯乙基－４－哌啶酮", ["N-苯乙基-4-哌啶酮"]),  # full-width forms
    ("鹽酸麻黃鹼 1公斤 醫藥中間體", ["鹽酸麻黃鹼"]),  # traditional characters, shown as written
    # part of a longer chemical name: another chemical
    ("二甲苯 200公斤", []), ("对甲苯磺酸", []), ("丙酮酸钠", []), ("苯甲酸苄酯", []),
    # everyday chemicals are named too (and cleared by the Checker): metformin hydrochloride,
    # not hydrochloric acid
    ("盐酸二甲双胍片", ["盐酸二甲双胍"]), ("咖啡因 无水", ["咖啡因"]),
    ("聚乙烯颗粒 25公斤", []), ("塑料玩具", []),
    ("clorhidrato de efedrina grado farmacéutico",
     ["clorhidrato de efedrina", "clorhidrato", "efedrina"]),
    ("permanganato de potasio 25 kg tambor", ["permanganato de potasio", "permanganato",
                                               "potasio"]),
    ("ropa de algodón", ["ropa de algodón", "ropa", "algodón"]),
]


@pytest.mark.parametrize(("description", "names"), CHINESE_AND_SPANISH)
def test_chinese_and_spanish_candidates(description: str, names: list[str]) -> None:
    assert [m.text for m in find_mentions(description).candidates] == names


def test_spanish_joining_words_never_start_or_end_a_candidate() -> None:
    texts = [m.text for m in find_mentions("cloruro de propionilo").candidates]
    assert texts == ["cloruro de propionilo", "cloruro", "propionilo"]


def test_every_chinese_name_a_listing_writes_is_found_in_running_text() -> None:
    from precursorwatch.chem.multilingual import cjk_names, normalise_text
    from precursorwatch.controls.load import load_controls

    names = [n for x in load_controls().listings for lang, n in x.names if lang == "zh"]
    for name in cjk_names(names):
        found = [m.text for m in find_mentions(f"出口{name}25公斤样品").candidates]
        assert normalise_text(name) in found, (name, found)
