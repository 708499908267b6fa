"""Browser end-to-end tests: a real ``tidemark serve`` per test, a real Chromium per session.

The browser is Debian's Chromium (``/usr/bin/chromium``) when it exists, else Playwright's
own. No browser, or no built page assets, is a failure with the fix in its message —
never a silent skip: these tests are the proof that the reported bug cannot happen.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, BrowserType, Page, expect

from server.testing import CHROMIUM_ARGS, SYSTEM_CHROMIUM, ServerProcess
from tests.e2e.driver import Api, App

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 780}

# Pyodide boots in each new page (1-3 s, more on a busy machine): generous, not endless.
expect.set_options(timeout=30_000)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def base_url() -> None:
    """Each test has its own server; this also replaces pytest-base-url's fixture, whose
    instance-method form pytest deprecates (an error under our warnings policy)."""
    return None


@pytest.fixture(scope="session")
def browser_type_launch_args(
    browser_type_launch_args: dict[str, Any], browser_type: BrowserType
) -> dict[str, Any]:
    """Debian's Chromium if installed, else Playwright's; fail loudly if there is neither."""
    args = {**browser_type_launch_args, "args": CHROMIUM_ARGS}
    if SYSTEM_CHROMIUM.exists():
        return {**args, "executable_path": str(SYSTEM_CHROMIUM)}
    if browser_type.name == "chromium" and Path(browser_type.executable_path).exists():
        return args
    pytest.fail(
        "no browser for the end-to-end tests: install Debian's Chromium "
        "(`apt-get install chromium`, or run `bash .ci/setup`) or Playwright's "
        "(`.venv/bin/playwright install chromium`)",
        pytrace=False,
    )


@pytest.fixture(scope="session", autouse=True)
def _page_assets_built() -> None:
    missing = [
        path
        for path in (ROOT / "web" / "dist" / "manifest.json", ROOT / "web" / "imsdk.js")
        if not path.exists()
    ]
    if missing:
        pytest.fail(
            f"browser assets missing ({', '.join(str(p.relative_to(ROOT)) for p in missing)}):"
            " run `npm ci && .venv/bin/python web/build.py` (or `bash .ci/setup`)",
            pytrace=False,
        )


class Server:
    """``tidemark serve`` on a temporary SQLite file; can crash, restart, change database."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.generation = 0
        self.process = ServerProcess(self._database_url(), directory / "server.log")

    def _database_url(self) -> str:
        return f"sqlite:///{self.directory}/tidemark-{self.generation}.db"

    @property
    def url(self) -> str:
        return self.process.url

    def start(self) -> Server:
        self.process.start()
        return self

    def kill9(self) -> None:
        self.process.kill9()

    def stop(self) -> None:
        self.process.stop()

    def replace_database(self) -> None:
        """Stop, and start again on the same port with a brand-new database (new epoch)."""
        self.stop()
        self.generation += 1
        port = self.process.port
        self.process = ServerProcess(self._database_url(), self.directory / "server.log", port=port)
        self.process.start()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    running = Server(tmp_path).start()
    yield running
    running.stop()


@pytest.fixture
def api(server: Server) -> Iterator[Api]:
    client = Api(server.url)
    yield client
    client.close()


@pytest.fixture
def open_app(
    new_context: Callable[..., BrowserContext], server: Server
) -> Iterator[Callable[..., App]]:
    """``open_app(context=None, viewport=DESKTOP)``: a page on the app, booted.

    Without ``context`` a new one is made: a separate browser profile, i.e. another
    device. Pass ``app.context`` to open a second tab of the same browser.
    """

    def make(context: BrowserContext | None = None, viewport: dict[str, int] | None = None) -> App:
        if context is None:
            context = new_context(viewport=viewport or DESKTOP)
        page = context.new_page()
        if viewport:
            page.set_viewport_size(viewport)
        app = App(page, server.url)
        apps.append(app)
        app.goto()
        return app

    apps: list[App] = []
    yield make
    for app in apps:  # shown by pytest for a failed test (and with -s)
        print(f"--- console of {app.page.url}", *app.console, sep="\n")
    errors = [f"{a.page.url}: {e}" for a in apps for e in a.page_errors]
    assert not errors, "uncaught exceptions in the page:\n" + "\n".join(errors)


@pytest.fixture
def screenshot() -> Callable[[Page, str], Path]:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page: Page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path))
        return path

    return take
