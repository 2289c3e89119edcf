"""The web app's languages: English, Spanish (Mexico) and Simplified Chinese.

Messages are gettext catalogs (`locale/{es,zh}/LC_MESSAGES/messages.po`) compiled in memory
with Babel the first time a language is used, so a catalog edit needs no compile step and a
stale .mo cannot exist. Each language has its own Jinja2 environment with the catalog
installed (new-style gettext: `_("%(n)s notifications", n=3)`), so rendering never swaps
translations under another request. Dates, numbers and quantities are formatted with Babel
for the language's locale.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Mapping
from functools import cache
from importlib.resources import files
from typing import Any

import jinja2
from babel.dates import format_date, format_datetime, format_skeleton
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations

LANGUAGES: tuple[str, ...] = ("en", "es", "zh")
DEFAULT_LANGUAGE = "en"
# What each language's formats follow: Mexican Spanish, mainland (simplified) Chinese.
LOCALES: dict[str, str] = {"en": "en", "es": "es_MX", "zh": "zh_Hans_CN"}
# Each language named in itself, for the switcher.
LANGUAGE_NAMES: dict[str, str] = {"en": "English", "es": "Español", "zh": "中文"}

_PACKAGE = files("precursorwatch.web")


def N_(message: str) -> str:
    """Marks `message` for the catalogs; it is translated where it is shown."""
    return message


def catalog_path(language: str) -> Any:
    return _PACKAGE / "locale" / language / "LC_MESSAGES" / "messages.po"


@cache
def translations(language: str) -> NullTranslations:
    """The language's catalog, compiled from its .po in memory (English: the msgids)."""
    if language not in LANGUAGES or language == DEFAULT_LANGUAGE:
        return NullTranslations()
    with catalog_path(language).open("rb") as po:
        catalog = read_po(po, locale=LOCALES[language])
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled)


def gettext(language: str, message: str, **values: Any) -> str:
    """`message` in `language`, with `%(name)s` placeholders filled from `values`."""
    text = translations(language).gettext(message)
    return text % values if values else text


def choose_language(setting: str | None, asked: str | None, accept_language: str | None) -> str:
    """The person's setting, then `?lang=`, then the browser's Accept-Language, then English."""
    for candidate in (setting, asked):
        if candidate is not None and candidate in LANGUAGES:
            return candidate
    return from_accept_language(accept_language or "")


def from_accept_language(header: str) -> str:
    """The first language of the header (by q-value, then order) that the app speaks."""
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if tag and q > 0:
            ranked.append((-q, i, tag.strip().lower()))
    for _q, _i, tag in sorted(ranked):
        primary = tag.split("-")[0]
        if primary in LANGUAGES:
            return primary
    return DEFAULT_LANGUAGE


# -- formatting -----------------------------------------------------------------------------------
def formatters(language: str) -> Mapping[str, Callable[..., str]]:
    """The formatting functions templates get for `language` (dates in UTC)."""
    loc = LOCALES.get(language, "en")

    def date(value: dt.date | str | None, form: str = "medium") -> str:
        if value is None or value == "":
            return ""
        day = dt.date.fromisoformat(value[:10]) if isinstance(value, str) else value
        return format_date(day, form, locale=loc)

    def datetime(value: dt.datetime | str | None, form: str = "medium") -> str:
        if value is None or value == "":
            return ""
        moment = (dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
                  if isinstance(value, str) else value)
        return format_datetime(moment, form, tzinfo=dt.UTC, locale=loc) + " UTC"

    def number(value: float | int | None, digits: int = 3) -> str:
        if value is None:
            return ""
        return format_decimal(value, format=f"#,##0.{'#' * digits}" if digits else "#,##0",
                              locale=loc)

    def quantity(value: float | None, unit: str | None) -> str:
        if value is None:
            return ""
        return f"{number(value)} {unit or ''}".strip()

    def month(value: str) -> str:
        """A `YYYY-MM` month as the locale names it (`Nov 2026`, `nov 2026`, `2026年11月`)."""
        return format_skeleton("yMMM", dt.date.fromisoformat(f"{value}-01"), locale=loc)

    return {"date": date, "datetime": datetime, "number": number, "quantity": quantity,
            "month": month}


# -- templates ------------------------------------------------------------------------------------
@cache
def environment(language: str) -> jinja2.Environment:
    """The Jinja2 environment of one language: package templates, autoescaped, its catalog
    installed, its formatters as globals."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("precursorwatch.web", "templates"),
        autoescape=True,
        extensions=["jinja2.ext.i18n"], trim_blocks=True, lstrip_blocks=True)
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    env.globals.update(formatters(language))
    env.globals["lang"] = language
    env.globals["LANGUAGES"] = LANGUAGES
    env.globals["LANGUAGE_NAMES"] = LANGUAGE_NAMES
    env.globals["html_lang"] = {"en": "en", "es": "es-MX", "zh": "zh-Hans"}[language]
    return env


def render_template(language: str, name: str, context: Mapping[str, Any]) -> str:
    return environment(language).get_template(name).render(context)
