"""The resolver on its own (no control lists): every identifier form, and bad input."""

from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from precursorwatch.chem.names import NameEntry
from precursorwatch.chem.opsin import names_to_smiles
from precursorwatch.chem.resolve import Resolver
from precursorwatch.chem.structure import from_smiles
from precursorwatch.chem.vocabulary import SOURCE_LABEL, Vocabulary, default_sources

NPP = "O=C1CCN(CCc2ccccc2)CC1"
ENTRIES = [
    NameEntry("listed:npp", "N-phenethyl-4-piperidone", NPP, "precursor", cas=("39742-60-4",),
              synonyms=("1-phenethyl-4-piperidone",), abbreviations=("NPP",)),
    NameEntry("listed:4-ap", "4-anilinopiperidine", "c1ccc(NC2CCNCC2)cc1", "precursor",
              cas=("23056-29-3",), abbreviations=("4-AP",)),
    NameEntry("common:4-aminopyridine", "4-aminopyridine", "Nc1ccncc1", "general",
              cas=("504-24-5",), abbreviations=("4-AP",)),
    NameEntry("listed:x1", "X-one", "CCO", "precursor", abbreviations=("XA",)),
    NameEntry("listed:x2", "X-two", "CCN", "precursor", abbreviations=("XA",)),
]


@pytest.fixture(scope="module")
def resolver() -> Resolver:
    return Resolver(ENTRIES)


NPP_KEY = from_smiles(NPP).inchikey


@pytest.mark.parametrize(
    ("identifier", "how"),
    [
        ("39742-60-4", "cas"),
        ("CAS 39742-60-4", "cas"),
        ("NPP", "synonym"),
        ("1-Phenethyl-4-Piperidone", "synonym"),
        ("N-phenethyl-4-piperidone hydrochloride", "synonym"),
        ("C1CN(CCC1=O)CCc1ccccc1", "smiles"),
        ("InChI=1S/C13H17NO/c15-13-7-10-14(11-8-13)9-6-12-4-2-1-3-5-12/h1-5H,6-11H2", "inchi"),
        (NPP_KEY, "inchikey"),
        ("1-(2-phenylethyl)piperidin-4-one", "iupac"),
        ("N-phenethyl-4-pipridone", "fuzzy"),
    ],
)
def test_every_form_reaches_the_same_structure(resolver: Resolver, identifier: str,
                                               how: str) -> None:
    res = resolver.resolve(identifier)
    assert res.resolved_by == how, res.reason
    assert res.structure is not None and res.structure.inchikey == NPP_KEY
    assert res.name == "N-phenethyl-4-piperidone"


def test_fuzzy_says_it_was_fuzzy(resolver: Resolver) -> None:
    res = resolver.resolve("N-phenethyl-4-pipridone")
    assert res.fuzzy_score is not None and res.fuzzy_score < 100
    assert any("fuzzy match" in n for n in res.notes)


def test_salt_words_are_kept(resolver: Resolver) -> None:
    res = resolver.resolve("NPP HCl")
    assert res.salt_words == ("hydrochloride",)


def test_ambiguous_abbreviation_is_read_in_precursor_context_and_says_so(
        resolver: Resolver) -> None:
    res = resolver.resolve("4-AP")
    assert res.name == "4-anilinopiperidine"
    assert any("also 4-aminopyridine" in n for n in res.notes)


def test_ambiguous_between_two_precursors_is_unresolved(resolver: Resolver) -> None:
    res = resolver.resolve("XA")
    assert res.resolved_by == "none"
    assert res.reason is not None and "X-one" in res.reason and "X-two" in res.reason


@pytest.mark.parametrize(
    ("identifier", "reason"),
    [
        ("39742-60-5", "wrong check digit"),
        ("", "empty identifier"),
        ("   ", "empty identifier"),
        ("x" * 10_000, "too long (10000 characters"),
        ("\x00\x01\x02garbage", "control characters"),
        ("caf\ufffd\ufffd", "undecodable"),
        ("C1CC(", "unknown name or unparsable structure"),
        ("definitely not a chemical name", "unknown name"),
        ("AAAAAAAAAAAAAA-BBBBBBBBBB-N", "not in the reference data"),
        ("InChI=1S/garbage", "unparsable InChI"),
        ("50-00-0", "not in the reference data"),
    ],
)
def test_unresolved_says_why(resolver: Resolver, identifier: str, reason: str) -> None:
    res = resolver.resolve(identifier)
    assert res.resolved_by == "none" and res.structure is None
    assert res.reason is not None and reason in res.reason


def test_batch_keeps_order_and_one_bad_identifier_never_stops_it(resolver: Resolver) -> None:
    batch = ["NPP", "39742-60-5", "", "4-aminopyridine", "NPP", "not-a-thing-xyz"]
    out = resolver.resolve_batch(batch)
    assert [r.input for r in out] == batch
    assert [r.resolved for r in out] == [True, False, False, True, True, False]


def test_opsin_runs_once_per_batch(resolver: Resolver) -> None:
    calls: list[int] = []

    def counting(names: Sequence[str]) -> list[str | None]:
        calls.append(len(names))
        return names_to_smiles(names)

    fresh = Resolver(ENTRIES, name_parser=counting)
    fresh.resolve_batch(["propan-2-one", "ethyl acetate", "2-methylpropan-1-ol", "propan-2-one"])
    assert calls == [3]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.text(max_size=60), min_size=1, max_size=8))
def test_any_text_gets_an_answer_never_an_exception(texts: list[str]) -> None:
    out = Resolver(ENTRIES, use_opsin=False).resolve_batch(texts)
    assert [r.input for r in out] == texts
    for r in out:
        assert (r.structure is not None) != (r.reason is not None)


def test_a_name_only_opsin_knows_keeps_the_name_given(resolver: Resolver) -> None:
    res = resolver.resolve("2-methylpropan-1-ol")
    assert res.resolved_by == "iupac" and res.name == "2-methylpropan-1-ol"


# -- with the general vocabulary (the small PubChem table of the chemicals package) ----------------
@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> Vocabulary:
    small = [p for p in default_sources() if p.name == "chemical identifiers pubchem small.tsv"]
    return Vocabulary(tmp_path_factory.mktemp("vocabulary"), sources=small)


def test_a_cas_number_the_entries_lack_is_found_in_the_table(table: Vocabulary) -> None:
    res = Resolver(ENTRIES, vocabulary=table, use_opsin=False).resolve("64-17-5")
    assert res.resolved_by == "cas" and res.cas == "64-17-5"
    assert res.structure is not None and res.structure.inchikey == from_smiles("CCO").inchikey
    assert any(SOURCE_LABEL in n for n in res.notes)


def test_a_table_name_for_a_listed_structure_resolves_to_the_listed_substance(
        table: Vocabulary) -> None:
    # "ethyl alcohol" is only in the table; its structure is the listed "X-one" here.
    res = Resolver(ENTRIES, vocabulary=table, use_opsin=False).resolve("ethyl alcohol")
    assert res.resolved_by == "synonym"
    assert res.name == "X-one" and res.ref == "listed:x1"


def test_the_entries_win_over_the_table_for_their_own_names(table: Vocabulary) -> None:
    res = Resolver(ENTRIES, vocabulary=table, use_opsin=False).resolve("4-AP")
    assert res.name == "4-anilinopiperidine"


def test_the_table_is_asked_before_opsin_and_fuzzy_matching(table: Vocabulary) -> None:
    asked: list[str] = []

    def parser(names: Sequence[str]) -> list[str | None]:
        asked.extend(names)
        return names_to_smiles(names)

    assert table.by_name("5-ethylnonan-2-one") is None
    fresh = Resolver(ENTRIES, vocabulary=table, name_parser=parser, cross_check=False)
    out = fresh.resolve_batch(["ethyl alcohol", "5-ethylnonan-2-one"])
    assert asked == ["5-ethylnonan-2-one"]  # only the name the table lacks goes to OPSIN
    assert out[0].resolved_by == "synonym" and out[0].fuzzy_score is None


def test_when_opsin_runs_anyway_it_gives_a_second_opinion(table: Vocabulary) -> None:
    asked: list[str] = []

    def parser(names: Sequence[str]) -> list[str | None]:
        asked.extend(names)
        return names_to_smiles(names)

    fresh = Resolver(ENTRIES, vocabulary=table, name_parser=parser)
    out = fresh.resolve_batch(["ethyl alcohol", "5-ethylnonan-2-one"])
    assert sorted(asked) == ["5-ethylnonan-2-one", "ethyl alcohol"]
    assert not any(n.startswith("OPSIN read") for n in out[0].notes)  # they agree


def test_without_the_table_nothing_changes(table: Vocabulary) -> None:
    res = Resolver(ENTRIES, use_opsin=False).resolve("64-17-5")
    assert res.resolved_by == "none" and "not in the reference data" in (res.reason or "")


def test_a_broken_smiles_with_bonds_is_not_sent_to_opsin() -> None:
    asked: list[str] = []

    def parser(names: Sequence[str]) -> list[str | None]:
        asked.extend(names)
        return [None] * len(names)

    res = Resolver(ENTRIES, name_parser=parser).resolve("CC(=O)N1CC[C@H](C1")
    assert res.resolved_by == "none" and "unparsable SMILES" in (res.reason or "")
    assert asked == []


@pytest.mark.parametrize("text", ["F[Kr]F", "[Cl-][PbH](Cl)Cl.[Rb+]"])
def test_a_smiles_rdkit_cannot_read_is_not_sent_to_opsin(text: str) -> None:
    # Bracket atoms with nothing but SMILES around them: never a name, whatever RDKit says.
    asked: list[str] = []

    def parser(names: Sequence[str]) -> list[str | None]:
        asked.extend(names)
        return [None] * len(names)

    res = Resolver(ENTRIES, name_parser=parser).resolve(text)
    assert res.resolved_by == "none" and "unparsable SMILES" in (res.reason or "")
    assert asked == []


@pytest.mark.parametrize("name", ["[14C]glycine", "benzo[b]thiophene", "copper[II]sulfate"])
def test_a_name_with_brackets_still_goes_to_opsin(name: str) -> None:
    asked: list[str] = []

    def parser(names: Sequence[str]) -> list[str | None]:
        asked.extend(names)
        return [None] * len(names)

    Resolver(ENTRIES, name_parser=parser).resolve(name)
    assert len(asked) == 1


@pytest.mark.parametrize(
    ("text", "how"),
    [("[Na+].[Cl-]", "smiles"), ("CC(C)N", "smiles"), ("O.O=C1CCNCC1", "smiles"),
     ("NPP", "synonym"), ("(S)-NPP", "synonym")],
)
def test_text_written_only_as_smiles_is_read_as_smiles_first(resolver: Resolver, text: str,
                                                             how: str) -> None:
    # "[Na+].[Cl-]" has the name key of "NaCl"; an abbreviation has no bracket, branch or dot.
    res = resolver.resolve(text)
    assert res.resolved_by == how, res.reason
    assert res.language is None if how == "smiles" else res.language == "en"


_SMILES_ALPHABET = [*"cnosCNOSBPFIbpl[]()=#@\\/.-+0123456789%aA xyz\t,", "١", "é", "Cl", "Br"]


@given(st.lists(st.sampled_from(_SMILES_ALPHABET), max_size=16).map("".join))
@settings(max_examples=500)
def test_text_tried_as_smiles_first_is_what_the_patterns_say(text: str) -> None:
    # ASCII text is tested without the regular expression engine, with the same answer.
    from precursorwatch.chem import resolve

    expected = not resolve._NOT_SMILES.search(text) and bool(
        resolve._SMILES_FIRST.search(text)
        or (resolve._SMILES_STRUCTURE.search(text) and resolve._SMILES_TOKENS.fullmatch(text)))
    assert resolve._smiles_first(text) == expected
