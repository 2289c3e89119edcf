"""The web app's message catalogs: every msgid in web/ (templates and Python), and the .po
files brought up to date with them.

`python -m precursorwatch.web.catalogs` adds new msgids to each language's .po (untranslated)
and marks those no longer used as obsolete; tests/web/test_i18n.py fails while any msgid has
no translation.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from precursorwatch.web.i18n import DEFAULT_LANGUAGE, LANGUAGES, LOCALES

WEB = Path(str(files("precursorwatch.web")))
METHODS = [("templates/**.html", "jinja2.ext:babel_extract"), ("**.py", "python")]
OPTIONS = {"templates/**.html": {"extensions": "jinja2.ext.i18n", "newstyle_gettext": "true"}}


def extract() -> Catalog:
    """Every message the web app shows, with where it is used."""
    catalog = Catalog(project="Precursor Watch", charset="utf-8")
    for filename, lineno, message, comments, context in extract_from_dir(
            str(WEB), METHODS, OPTIONS, strip_comment_tags=True):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments,
                    context=context)
    return catalog


def po_path(language: str) -> Path:
    return WEB / "locale" / language / "LC_MESSAGES" / "messages.po"


def read(language: str) -> Catalog:
    with po_path(language).open("rb") as fh:
        return read_po(fh, locale=LOCALES[language])


def update() -> None:
    """Each language's .po with the msgids now in use; translations kept."""
    template = extract()
    for language in LANGUAGES:
        if language == DEFAULT_LANGUAGE:
            continue
        path = po_path(language)
        path.parent.mkdir(parents=True, exist_ok=True)
        catalog = read(language) if path.exists() else Catalog(locale=LOCALES[language])
        catalog.update(template, no_fuzzy_matching=True)
        with path.open("wb") as fh:
            write_po(fh, catalog, width=100, omit_header=False, ignore_obsolete=True)


if __name__ == "__main__":
    update()
