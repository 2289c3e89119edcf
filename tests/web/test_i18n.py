"""The catalogs: every message of the web app translated into Spanish and Chinese, none fuzzy or
empty, placeholders kept; languages chosen and numbers formatted as each locale writes them."""

from __future__ import annotations

import re

import pytest
from babel.messages.catalog import Message

from precursorwatch.web.catalogs import extract, read
from precursorwatch.web.i18n import choose_language, formatters, from_accept_language, gettext

TRANSLATED = ("es", "zh")
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _ids(message: Message) -> tuple[str, ...]:
    return tuple(message.id) if isinstance(message.id, list | tuple) else (message.id,)


def _strings(message: Message) -> tuple[str, ...]:
    return (tuple(message.string) if isinstance(message.string, list | tuple)
            else (message.string,))


def test_extraction_finds_the_messages_of_templates_python_and_sign_in() -> None:
    ids = {_ids(m)[0] for m in extract() if m.id}
    assert "Inbox" in ids  # base.html
    assert "Wrong e-mail or password." in ids  # auth.py
    assert "Sign in" in ids  # login.html
    assert "Choose your password" in ids  # password.html
    assert "This field is required." in ids  # forms.py (N_)
    assert len(ids) > 250


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_message_is_translated(language: str) -> None:
    catalog = read(language)
    problems = []
    for message in extract():
        if not message.id:
            continue
        found = catalog.get(message.id)
        if found is None:
            problems.append(f"missing: {_ids(message)[0]!r}")
        elif found.fuzzy:
            problems.append(f"fuzzy: {_ids(message)[0]!r}")
        elif not all(s.strip() for s in _strings(found)):
            problems.append(f"empty: {_ids(message)[0]!r}")
    assert not problems, f"{language}: run `python -m precursorwatch.web.catalogs` and " \
        "translate:\n" + "\n".join(problems)


@pytest.mark.parametrize("language", TRANSLATED)
def test_translations_keep_their_placeholders(language: str) -> None:
    for message in read(language):
        if not message.id:
            continue
        wanted = set(PLACEHOLDER.findall(" ".join(_ids(message))))
        for text in _strings(message):
            assert set(PLACEHOLDER.findall(text)) == wanted, (message.id, text)


def test_messages_are_translated_when_shown() -> None:
    assert gettext("es", "Inbox") == "Bandeja de entrada"
    assert gettext("zh", "Objection") == "异议"
    assert gettext("zh", "No objection") == "无异议"
    assert gettext("en", "Inbox") == "Inbox"
    assert gettext("es", "Page %(n)s", n=3) == "Página 3"


@pytest.mark.parametrize(("setting", "asked", "header", "expected"), [
    ("zh", "es", "en", "zh"),  # the person's setting first
    (None, "es", "zh-CN", "es"),  # then ?lang=
    (None, None, "es-MX,es;q=0.9,en;q=0.8", "es"),
    (None, None, "fr-FR, zh-Hans;q=0.8, en;q=0.5", "zh"),
    (None, None, "en;q=0.2, es;q=0.9", "es"),
    (None, "xx", "fr", "en"),  # nothing the app speaks: English
    (None, None, "", "en"),
])
def test_the_language_is_chosen_in_order(setting: str | None, asked: str | None, header: str,
                                         expected: str) -> None:
    assert choose_language(setting, asked, header) == expected


def test_a_malformed_accept_language_falls_back_to_english() -> None:
    assert from_accept_language(";;q=x,,") == "en"


def test_dates_and_numbers_follow_the_locale() -> None:
    en, es, zh = formatters("en"), formatters("es"), formatters("zh")
    assert en["date"]("2026-12-01") == "Dec 1, 2026"
    assert es["date"]("2026-12-01") == "1 dic 2026"
    assert zh["date"]("2026-12-01") == "2026年12月1日"
    assert en["quantity"](12500.5, "kg") == "12,500.5 kg"
    assert zh["month"]("2026-11") == "2026年11月"
    assert "UTC" in es["datetime"]("2026-11-23T09:00:00Z")
