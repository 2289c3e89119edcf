import pytest

from precursorwatch.chem.names import NameEntry, SynonymIndex, name_key, split_salt_words


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("1-Boc-4-AP", "N-BOC-4-AP"),
        ("1-boc-4-AP", "tert-butoxycarbonyl-4-AP"),
        ("BOC-4-AP", "t-Boc-4-AP"),
        ("N-Phenethyl-4-piperidone", "n phenethyl 4 piperidone"),
        ("N‐phenethyl–4‐piperidone", "N-phenethyl-4-piperidone"),  # Unicode hyphen and en dash
        ("α-methylfentanyl", "alpha-methylfentanyl"),
        ("1-N-Boc-4-piperidone", "Boc-4-piperidone"),
    ],
)
def test_variants_share_a_key(a: str, b: str) -> None:
    assert name_key(a) == name_key(b)


def test_locants_still_matter() -> None:
    assert name_key("2-piperidone") != name_key("4-piperidone")


@pytest.mark.parametrize(
    ("text", "base", "salts"),
    [
        ("4-Piperidone HCl H2O", "4piperidone", ("hydrochloride", "hydrate")),
        ("4-piperidone hydrochloride monohydrate", "4piperidone", ("hydrochloride", "monohydrate")),
        ("4-AP 2HCl", "4ap", ("dihydrochloride",)),
        ("norfentanyl oxalate", "norfentanyl", ("oxalate",)),
        ("fentanyl citrate", "fentanyl", ("citrate",)),
        ("acetone", "acetone", ()),
    ],
)
def test_salt_words_split_off(text: str, base: str, salts: tuple[str, ...]) -> None:
    assert split_salt_words(text) == (base, salts)


def _index() -> SynonymIndex:
    return SynonymIndex(
        [
            NameEntry("listed:4-ap", "4-anilinopiperidine", "c1ccc(NC2CCNCC2)cc1", "precursor",
                      cas=("23056-29-3",), abbreviations=("4-AP",)),
            NameEntry("common:4-aminopyridine", "4-aminopyridine", "Nc1ccncc1", "general",
                      abbreviations=("4-AP",)),
            NameEntry("listed:npp", "N-phenethyl-4-piperidone", "O=C1CCN(CCc2ccccc2)CC1",
                      "precursor", abbreviations=("NPP",)),
        ]
    )


def test_ambiguous_abbreviation_reads_as_precursor_and_keeps_alternatives() -> None:
    hit = _index().lookup("4-ap")
    assert hit is not None
    assert hit.entry.name == "4-anilinopiperidine"
    assert [a.name for a in hit.alternatives] == ["4-aminopyridine"]


def test_fuzzy_finds_typos_and_says_how_close() -> None:
    hit = _index().fuzzy("N-phenethyl-4-piperidon")
    assert hit is not None and hit.entry.name == "N-phenethyl-4-piperidone"
    assert hit.score is not None and 88 <= hit.score < 100


def test_fuzzy_does_not_guess_short_strings() -> None:
    assert _index().fuzzy("NPX") is None


def test_fuzzy_never_changes_a_locant() -> None:
    index = SynonymIndex([NameEntry("listed:4-piperidone", "4-piperidone", "O=C1CCNCC1",
                                    "precursor", synonyms=("piperidin-4-one",))])
    assert index.fuzzy("3-piperidone") is None
    assert index.fuzzy("piperidin-3-one") is None
    hit = index.fuzzy("4-piperidnoe")
    assert hit is not None and hit.entry.name == "4-piperidone"
