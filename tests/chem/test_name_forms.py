"""Names as people write them: register tags, grades, stereo prefixes, CAS index names, ";".

The spellings come from real listings: PubChem synonyms of the substances (the `chemicals`
package table), pharmacopoeia monograph titles and chemical catalogues. The index under test is
the real one over the bundled control lists and everyday chemicals.
"""

from __future__ import annotations

import pytest

from precursorwatch.chem.names import (
    SynonymIndex,
    name_key,
    name_variants,
    strip_stereo,
    strip_tags,
    systematic_spelling,
    uninvert_cas_name,
)
from precursorwatch.controls.load import load_controls
from precursorwatch.detect.check import Checker, common_chemicals, control_entries


@pytest.fixture(scope="module")
def index() -> SynonymIndex:
    return SynonymIndex([*control_entries(load_controls()), *common_chemicals()])


# -- the pure normaliser -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "left", "removed"),
    [
        ("fentanyl [inn:ban]", "fentanyl", ("[inn:ban]",)),
        ("ephedrine (usp)", "ephedrine", ("(usp)",)),
        ("Fentanyl Citrate USP", "fentanyl citrate", ("usp",)),
        ("ergometrine maleate [JAN]", "ergometrine maleate", ("[jan]",)),
        ("pseudoephedrine hydrochloride (EP)", "pseudoephedrine hydrochloride", ("(ep)",)),
        ("ephedrine sulfate BP", "ephedrine sulfate", ("bp",)),
        ("fentanyl USAN", "fentanyl", ("usan",)),
        ("ephedrine hydrochloride Ph. Eur.", "ephedrine hydrochloride", ("ph. eur.",)),
        ("fentanilo [dcit]", "fentanilo", ("[dcit]",)),
        ("fentanylum [inn-latin]", "fentanylum", ("[inn-latin]",)),
        ("duragesic (tn)", "duragesic", ("(tn)",)),
        ("adenine, 9-ethyl- (8ci)", "adenine, 9-ethyl-", ("(8ci)",)),
        ("ephedrine [mi] [who-dd]", "ephedrine", ("[mi]", "[who-dd]")),
        ("piperidine 99%", "piperidine", ("99%",)),
        ("Piperidine, ReagentPlus, 99%", "piperidine", ("reagentplus", "99%")),
        ("acetic anhydride, anhydrous", "acetic anhydride", ("anhydrous",)),
        ("propionyl chloride technical", "propionyl chloride", ("technical",)),
        ("methylamine solution", "methylamine", ("solution",)),
        ("fentanyl 1 mg/mL in methanol", "fentanyl", ("1 mg/ml", "in methanol")),
        ("phenylacetic acid >=99% (GC)", "phenylacetic acid", (">=99% (gc)",)),
    ],
)
def test_tags_and_grades_are_set_aside(text: str, left: str, removed: tuple[str, ...]) -> None:
    from precursorwatch.chem.names import _clean

    kept, tags = strip_tags(_clean(text))
    assert (kept.casefold(), tuple(t.casefold() for t in tags)) == (left, removed)


@pytest.mark.parametrize(
    "text",
    ["copper (ii) chloride", "iron(ii) sulfate", "vitamin b12", "ethyl acetate", "usp"],
)
def test_names_that_look_like_tags_stay_whole(text: str) -> None:
    from precursorwatch.chem.names import _clean

    assert strip_tags(_clean(text))[0] == _clean(text)


@pytest.mark.parametrize(
    ("text", "bare", "stereo"),
    [
        ("l-(+)-pseudoephedrine hydrochloride", "pseudoephedrine hydrochloride", ("l", "(+)")),
        ("(1r,2s)-2-(methylamino)-1-phenylpropan-1-ol", "2-(methylamino)-1-phenylpropan-1-ol",
         ("(1r,2s)",)),
        ("(-)-ephedrine", "ephedrine", ("(-)",)),
        ("d-pseudoephedrine", "pseudoephedrine", ("d",)),
        ("dl-ephedrine", "ephedrine", ("dl",)),
        ("rac-ephedrine", "ephedrine", ("rac",)),
        ("(±)-ephedrine", "ephedrine", ("(±)",)),
        ("(s)-norfentanyl", "norfentanyl", ("(s)",)),
        ("r-(-)-phenylephrine", "phenylephrine", ("r", "(-)")),
        ("(r)-(-)-phenylephrine", "phenylephrine", ("(r)", "(-)")),
        ("cis-3-methylfentanyl", "3-methylfentanyl", ("cis",)),
        ("(e)-crotonylfentanyl", "crotonylfentanyl", ("(e)",)),
        ("ephedrine (racemic)", "ephedrine", ("(racemic)",)),
    ],
)
def test_stereo_prefixes_are_set_aside_and_kept(text: str, bare: str,
                                                stereo: tuple[str, ...]) -> None:
    assert strip_stereo(text) == (bare, stereo)


@pytest.mark.parametrize(
    "text",
    ["s-methyl thioacetate", "S-(2-aminoethyl)isothiourea", "n-methylephedrine",
     "dimethylamine", "l", "d-", "lysergic acid", "trans"],
)
def test_locants_and_names_are_not_stereo(text: str) -> None:
    assert strip_stereo(text) == (text, ())


@pytest.mark.parametrize(
    ("cas_name", "natural", "stereo"),
    [
        ("4-piperidinone, 1-(2-phenylethyl)-", "1-(2-phenylethyl)-4-piperidinone", ()),
        ("propanamide, n-phenyl-n-[1-(2-phenylethyl)-4-piperidinyl]-",
         "n-phenyl-n-[1-(2-phenylethyl)-4-piperidinyl]propanamide", ()),
        ("benzenemethanol, alpha-(1-aminoethyl)-, [r-(r*,r*)]-",
         "alpha-(1-aminoethyl)benzenemethanol", ("[r-(r*,r*)]",)),
        ("benzenemethanol, alpha-[1-(methylamino)ethyl]-, monohydrochloride",
         "alpha-[1-(methylamino)ethyl]benzenemethanol monohydrochloride", ()),
        ("benzenemethanol, alpha-[1-(methylamino)ethyl]-, [s-(r*,r*)]-, hydrochloride (1:1)",
         "alpha-[1-(methylamino)ethyl]benzenemethanol hydrochloride", ("[s-(r*,r*)]",)),
        ("ephedrine, (-)-", "ephedrine", ("(-)",)),
        ("ergoline-8-carboxylic acid, 9,10-didehydro-6-methyl-, (8beta)-",
         "9,10-didehydro-6-methylergoline-8-carboxylic acid", ("(8beta)",)),
        ("benzeneethanamine, n,alpha-dimethyl-", "n,alpha-dimethylbenzeneethanamine", ()),
        ("benzoic acid, 2-amino-", "2-aminobenzoic acid", ()),
        ("1-piperidinecarboxylic acid, 4-(phenylamino)-, 1,1-dimethylethyl ester",
         "4-(phenylamino)-1-piperidinecarboxylic acid 1,1-dimethylethyl ester", ()),
        ("propanamide, n-phenyl-n-4-piperidinyl-, ethanedioate (1:1)",
         "n-phenyl-n-4-piperidinylpropanamide oxalate", ()),
    ],
)
def test_cas_index_names_in_natural_order(cas_name: str, natural: str,
                                          stereo: tuple[str, ...]) -> None:
    assert uninvert_cas_name(cas_name) == (natural, stereo)


@pytest.mark.parametrize(
    "text", ["acetic acid", "sodium chloride", "2,3-dihydroxybenzoic acid", "n,n-dimethylaniline",
             "propane-1,2,3-triol", "ethyl acetate, ethanol"],
)
def test_ordinary_names_are_not_cas_index_names(text: str) -> None:
    assert uninvert_cas_name(text) is None


def test_variants_start_with_the_input_and_say_what_changed() -> None:
    variants = name_variants("L-(+)-Pseudoephedrine HCl USP")
    assert variants[0].key == name_key("L-(+)-Pseudoephedrine HCl USP")
    assert variants[0].note == ""
    last = variants[-1]
    assert (last.base_key, last.salt_words) == ("pseudoephedrine", ("hydrochloride",))
    assert last.tags == ("USP",) and last.stereo == ("L", "(+)")
    assert last.stereo_given
    assert "USP" in last.note and "stereo" in last.note


def test_semicolon_joined_synonyms_are_each_tried() -> None:
    keys = [v.key for v in name_variants("NPP; N-phenethyl-4-piperidone")]
    assert keys[1:] == ["npp", "nphenethyl4piperidone"]


def test_stereo_the_key_keeps_is_still_reported() -> None:
    # name_key drops "(-)", so the spelling as given already matches; the caller still learns
    # that a stereoisomer was named.
    first = name_variants("(-)-ephedrine")[0]
    assert first.key == "ephedrine" and first.stereo == ("(-)",)


@pytest.mark.parametrize(
    ("text", "spelling"),
    [
        ("(1R,2S)-2-(methylamino)-1-phenylpropan-1-ol USP",
         "(1R,2S)-2-(methylamino)-1-phenylpropan-1-ol"),
        ("1-(2-phenylethyl)piperidin-4-one, 98%", "1-(2-phenylethyl)piperidin-4-one"),
        ("benzenemethanol, .alpha.-(1-aminoethyl)-, [r-(r*,r*)]-",
         "alpha-(1-aminoethyl)benzenemethanol"),
        ("NPP; 1-(2-phenylethyl)piperidin-4-one", "1-(2-phenylethyl)piperidin-4-one"),
        ("fentanyl", "fentanyl"),
    ],
)
def test_the_spelling_for_opsin_keeps_stereo(text: str, spelling: str) -> None:
    assert systematic_spelling(text) == spelling


@pytest.mark.parametrize(
    "text", [", " * 400, "1" * 999 + "%", "usp " * 250, "[inn:ban]" * 100, "(1r," * 200,
             "d-" * 500, "a" + ";" * 999],
)
def test_long_junk_is_read_quickly(text: str) -> None:
    import time

    start = time.perf_counter()
    name_variants(text)
    systematic_spelling(text)
    assert time.perf_counter() - start < 1.0  # was 3 s for ", " * 400 before the tail window


def test_plain_names_give_one_variant() -> None:
    assert [v.key for v in name_variants("N-phenethyl-4-piperidone")] == [
        "nphenethyl4piperidone"]


# -- the synonym index over the bundled lists ---------------------------------------------------
@pytest.mark.parametrize(
    ("text", "ref", "salts", "stereo"),
    [
        ("fentanyl [inn:ban]", "listed:fentanyl", (), False),
        ("ephedrine (usp)", "listed:ephedrine", (), False),
        ("Fentanyl Citrate USP", "listed:fentanyl", ("citrate",), False),
        ("ergometrine maleate [JAN]", "listed:ergometrine", ("maleate",), False),
        ("pseudoephedrine hydrochloride (EP)", "listed:pseudoephedrine", ("hydrochloride",),
         False),
        ("ephedrine sulfate BP", "listed:ephedrine", ("sulfate",), False),
        ("L-(+)-pseudoephedrine hydrochloride", "listed:pseudoephedrine", ("hydrochloride",),
         True),
        ("(1R,2S)-2-(methylamino)-1-phenylpropan-1-ol", "listed:ephedrine", (), True),
        ("(-)-ephedrine", "listed:ephedrine", (), True),
        ("d-pseudoephedrine", "listed:pseudoephedrine", (), True),
        ("dl-ephedrine", "listed:ephedrine", (), True),
        ("rac-ephedrine", "listed:ephedrine", (), True),
        ("(±)-ephedrine", "listed:ephedrine", (), True),
        ("(S)-norfentanyl", "listed:norfentanyl", (), True),
        ("4-Piperidinone, 1-(2-phenylethyl)-", "listed:npp", (), False),
        ("Benzeneacetic acid, .alpha.-acetyl-, methyl ester", "listed:mapa", (), False),
        ("NPP; N-phenethyl-4-piperidone", "listed:npp", (), False),
        ("norfentanyl; N-phenyl-N-(piperidin-4-yl)propanamide", "listed:norfentanyl", (), False),
        ("piperidine 99%", "listed:piperidine", (), False),
        ("acetic anhydride, anhydrous", "listed:acetic-anhydride", (), False),
        ("Propionyl chloride, technical", "listed:propionyl-chloride", (), False),
        ("Methylamine solution 40% in water", "listed:methylamine", (), False),
        ("α-methylfentanyl", "listed:alpha-methylfentanyl", (), False),
        (".alpha.-methylfentanyl", "listed:alpha-methylfentanyl", (), False),
        ("cis-3-methylfentanyl", "listed:3-methylfentanyl", (), True),
    ],
)
def test_listed_substances_found_however_written(index: SynonymIndex, text: str, ref: str,
                                                 salts: tuple[str, ...], stereo: bool) -> None:
    hit = index.lookup_variants(text)
    assert hit is not None, text
    assert hit.entry.ref == ref
    assert hit.variant is not None
    assert hit.variant.salt_words == salts
    assert hit.variant.stereo_given is stereo


@pytest.mark.parametrize(
    ("cas_name", "smiles"),
    [
        ("Propanamide, N-phenyl-N-[1-(2-phenylethyl)-4-piperidinyl]-",
         "CCC(=O)N(c1ccccc1)C1CCN(CCc2ccccc2)CC1"),
        ("4-Piperidinamine, N-phenyl-1-(2-phenylethyl)-", "c1ccc(NC2CCN(CCc3ccccc3)CC2)cc1"),
        ("1-Piperidinecarboxylic acid, 4-(phenylamino)-, 1,1-dimethylethyl ester",
         "CC(C)(C)OC(=O)N1CCC(Nc2ccccc2)CC1"),
    ],
)
def test_cas_names_in_natural_order_are_read_by_opsin(cas_name: str, smiles: str) -> None:
    """Names no list spells this way reach their structure through OPSIN (real Java)."""
    from precursorwatch.chem.opsin import names_to_smiles
    from precursorwatch.chem.structure import from_smiles

    natural = systematic_spelling(cas_name)
    (parsed,) = names_to_smiles([natural])
    assert parsed is not None, natural
    assert from_smiles(parsed).inchikey == from_smiles(smiles).inchikey


def test_three_piperidone_is_not_four_piperidone(index: SynonymIndex) -> None:
    for text in ("3-piperidone", "3-Piperidinone, 99%", "piperidin-3-one [inn]"):
        hit = index.lookup_variants(text)
        assert hit is None or hit.entry.name != "4-piperidone", text


# -- end to end: needs the general vocabulary in the Checker (precursorwatch.chem.vocabulary) ---
@pytest.fixture(scope="module")
def checker() -> Checker:
    return Checker.default()


@pytest.mark.parametrize(
    "text",
    ["fentanyl [inn:ban]", "ephedrine (usp)", "Fentanyl Citrate USP",
     "L-(+)-pseudoephedrine hydrochloride", "4-Piperidinone, 1-(2-phenylethyl)-",
     "Propanamide, N-phenyl-N-[1-(2-phenylethyl)-4-piperidinyl]-",
     "benzenemethanol, .alpha.-[1-(methylamino)ethyl]-, [r-(r*,s*)]-",
     "NPP; N-phenethyl-4-piperidone", "piperidine 99%", "acetic anhydride, anhydrous"],
)
def test_checker_calls_them_controlled(checker: Checker, text: str) -> None:
    verdict = checker.check(text)
    assert verdict.verdict == "controlled", (text, verdict)
