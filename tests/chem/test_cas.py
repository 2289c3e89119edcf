import pytest
from hypothesis import given
from hypothesis import strategies as st

from precursorwatch.chem.cas import CasError, check_digit, is_valid_cas, parse_cas

REAL = ["39742-60-4", "21409-26-7", "23056-29-3", "125541-22-2", "1609-66-1", "41661-47-6",
        "79099-07-3", "7732-18-5", "64-17-5"]


@pytest.mark.parametrize("cas", REAL)
def test_real_cas_numbers_pass(cas: str) -> None:
    assert parse_cas(cas).text == cas


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1609-66-5", "wrong check digit: 5 given, 1 expected"),  # norfentanyl typo in circulation
        ("23056-29-9", "wrong check digit: 9 given, 3 expected"),  # 4-AP typo in circulation
        ("39742604", "not a CAS number"),
        ("12-3-4", "not a CAS number"),
    ],
)
def test_bad_cas_numbers_say_why(text: str, message: str) -> None:
    with pytest.raises(CasError, match=message):
        parse_cas(text)


def test_prefixes_and_leading_zeros() -> None:
    assert parse_cas("CAS No. 39742-60-4").text == "39742-60-4"
    assert parse_cas("CAS: 0064-17-5").text == "64-17-5"


@given(st.integers(min_value=10, max_value=9_999_999), st.integers(min_value=0, max_value=99))
def test_computed_check_digit_always_validates(first: int, second: int) -> None:
    body = f"{first}{second:02d}"
    cas = f"{first}-{second:02d}-{check_digit(body)}"
    assert is_valid_cas(cas)
    wrong = (check_digit(body) + 1) % 10
    assert not is_valid_cas(f"{first}-{second:02d}-{wrong}")


_CAS_ALPHABET = "0123456789-- CASNo.#:RN\n\t²١x"


@given(st.text(alphabet=_CAS_ALPHABET, max_size=20))
def test_the_shape_test_answers_as_the_pattern_does(text: str) -> None:
    # `looks_like_cas` skips the regular expression for text that cannot match it.
    from precursorwatch.chem.cas import _CAS_RE, looks_like_cas

    assert looks_like_cas(text) == (_CAS_RE.match(text) is not None)
