"""Browser tests: the machine's Chromium (Playwright, sync API) against a real uvicorn serving
the exchange and its web app over a fresh database, on SQLite and on PostgreSQL.

One server per test module and database (module-scoped fixtures); `pytest -n 2 --dist
loadgroup` keeps each module's tests of one database on one worker, so it starts once there.
Pages are waited for through Playwright's auto-waiting locators and `expect`, never by sleeping.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from playwright.sync_api import Browser, BrowserContext, Playwright, sync_playwright

from precursorwatch.exchange.admin import add_authority
from precursorwatch.exchange.app import create_app
from precursorwatch.exchange.db import make_engine
from precursorwatch.exchange.service import Exchange, SubstanceChecker
from precursorwatch.exchange.settings import ExchangeSettings

# The helpers beside these tests must be importable whatever pytest's import mode.
_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from browser_helpers import WebServer  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
PG_URL = os.environ.get("PWATCH_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
# Where a missing browser fails instead of skipping (.ci/run sets it: CI installs Chromium).
REQUIRED = os.environ.get("PWATCH_BROWSER_REQUIRED", "") not in ("", "0")

AUTHORITIES = [("CN", "National Narcotics Control Commission", 14),
               ("MX", "COFEPRIS", 7), ("US", "Drug Enforcement Administration", 14)]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Each browser module's tests of one database go to one xdist worker together (with
    `--dist loadgroup`), so the module's server starts once per database."""
    here = Path(__file__).parent
    for item in items:
        path = Path(str(item.path))
        if path.parent != here or not path.name.startswith("test_browser"):
            continue
        callspec = getattr(item, "callspec", None)
        kind = callspec.params.get("web_db", "") if callspec is not None else ""
        item.add_marker(pytest.mark.xdist_group(f"{item.path.stem}-{kind}"))
        item.add_marker(pytest.mark.browser)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives Chromium against a live web app")


# -- the browser ------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    if not CHROMIUM.exists():
        reason = (f"no Chromium at {CHROMIUM}: `make test` installs Debian's chromium and "
                  "fonts-noto-cjk with apt-get (as root or with sudo)")
        if REQUIRED:
            pytest.fail(reason)
        pytest.skip(reason)
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
    yield browser
    browser.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A browser of its own (cookies, storage) for one person; English unless they chose."""
    ctx = browser.new_context(locale="en-US")
    ctx.set_default_timeout(15_000)
    yield ctx
    ctx.close()


@pytest.fixture
def other_context(browser: Browser) -> Iterator[BrowserContext]:
    """A second person's browser, beside `context`."""
    ctx = browser.new_context(locale="en-US")
    ctx.set_default_timeout(15_000)
    yield ctx
    ctx.close()


# -- the server -------------------------------------------------------------------------------
@dataclass(frozen=True)
class WebDatabase:
    kind: str
    url: str
    schema: str | None


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def web_db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[WebDatabase]:
    if request.param == "sqlite":
        folder = tmp_path_factory.mktemp("web")
        yield WebDatabase("sqlite", f"sqlite:///{folder / 'exchange.db'}", None)
        return
    schema = f"pww_{uuid.uuid4().hex[:16]}"
    plain = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield WebDatabase("postgresql", PG_URL, schema)
    finally:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(scope="session")
def checker() -> SubstanceChecker:
    """The bundled lists, loaded once per worker for every server."""
    from precursorwatch.detect.check import Checker

    return Checker.long_running()


@pytest.fixture(scope="module")
def web_server(web_db: WebDatabase, tmp_path_factory: pytest.TempPathFactory,
               checker: SubstanceChecker) -> Iterator[WebServer]:
    import uvicorn

    from precursorwatch.exchange.http import server_options

    settings = ExchangeSettings(db_url=web_db.url, db_schema=web_db.schema,
                                secret_file=tmp_path_factory.mktemp("secret") / "secret",
                                rate_limit=10_000)
    engine = make_engine(settings.db_url, schema=settings.db_schema)
    app = create_app(settings, engine=engine, checker=checker)
    ex: Exchange = app.state.exchange
    for code, name, days in AUTHORITIES:
        add_authority(engine, ex.vault, code, name, reply_days=days)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                            access_log=False, lifespan="off", **server_options())
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:  # uvicorn offers no event to wait on
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the web app's server did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield WebServer(f"http://127.0.0.1:{port}", ex, web_db.kind)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        engine.dispose()


