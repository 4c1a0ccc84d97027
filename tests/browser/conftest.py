"""Browser tests: the real servers on the test database, driven by Debian's Chromium, in both
serving layouts (tests/live/layouts.py).

Fixtures for every browser test module:

- ``live_site``: the site in one layout, ``dev`` (one daphne) or ``production`` (nginx from
  our template over TLS, gunicorn for pages, daphne for /ws/); parametrized, so every test
  using it (or ``live_url``) runs in both, the layout in its id. Started once per session.
- ``live_url``: the site's base URL (``http://127.0.0.1:<port>`` or ``https://localhost:<port>``).
- ``new_context``: a browser context on a base URL (certificate, CSP listener, session cookie).
- ``browser``: a headless Chromium (Playwright), one per test session.
- ``page``: a fresh browser context and page per test; CSP violations and console errors
  are collected in ``page.problems`` (assert it is empty at the end of a test).

Playwright runs in a thread of its own: its sync API keeps an asyncio loop running in the
thread that drives it, and with a running loop Django hands out different database
connections (and refuses ORM calls). ``browser`` and ``page`` are proxies that run every
Playwright call in that thread, so tests use the usual sync API and the ORM side by side.
For Playwright helpers that need real Playwright objects (``expect``), use ``in_browser``::

    in_browser(lambda heading: expect(heading).to_have_text("Dashboard"), page.locator("h1"))

Mark browser test modules ``pytestmark = [pytest.mark.browser, pytest.mark.django_db(
transaction=True, serialized_rollback=True)]``: data must be committed for the servers to see
it, and serialized rollback restores the role groups that the flush after each test removes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.live.layouts import LAYOUTS, LiveSite, session_cookie_name
from tests.live.layouts import live_site as live_site_for

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ROOT = Path(__file__).resolve().parents[2]

# Reports Content-Security-Policy violations to the console, where the page fixture sees
# them (init scripts run outside the page's CSP).
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI || "inline"}`);
});
"""

WORKER_NAME = "playwright"
_worker: ThreadPoolExecutor | None = None


def _in_worker(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    assert _worker is not None, "the browser fixture is not running"
    if threading.current_thread().name.startswith(WORKER_NAME):
        return fn(*args, **kwargs)  # already there (a proxy used inside in_browser)
    return _worker.submit(fn, *args, **kwargs).result()


def _unwrap(value: Any) -> Any:
    if isinstance(value, Remote):
        return object.__getattribute__(value, "_target")
    if isinstance(value, list | tuple):
        return type(value)(_unwrap(item) for item in value)
    if isinstance(value, dict):
        return {key: _unwrap(item) for key, item in value.items()}
    return value


def _wrap(value: Any) -> Any:
    if type(value).__module__.startswith("playwright."):
        return Remote(value)
    if isinstance(value, list):
        return [_wrap(item) for item in value]
    return value


class Remote:
    """A Playwright object that lives in the browser thread; every attribute read and call
    runs there, and Playwright objects it returns are wrapped the same way."""

    __slots__ = ("__weakref__", "_target", "problems")

    def __init__(self, target: Any) -> None:
        object.__setattr__(self, "_target", target)

    def __getattr__(self, name: str) -> Any:
        value = _in_worker(getattr, object.__getattribute__(self, "_target"), name)
        if callable(value) and not type(value).__module__.startswith("playwright."):
            return lambda *args, **kwargs: _wrap(
                _in_worker(value, *_unwrap(args), **_unwrap(kwargs))
            )
        return _wrap(value)

    def __enter__(self) -> Any:
        return _wrap(_in_worker(self._target.__enter__))

    def __exit__(self, *exc: Any) -> Any:
        return _in_worker(self._target.__exit__, *exc)

    def __repr__(self) -> str:
        return f"Remote({object.__getattribute__(self, '_target')!r})"


def in_browser(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run ``fn`` in the browser thread with the given proxies unwrapped, for Playwright
    helpers that need real Playwright objects, e.g.
    ``in_browser(lambda heading: expect(heading).to_have_text("x"), page.locator("h1"))``."""
    return _wrap(_in_worker(lambda: fn(*_unwrap(args), **_unwrap(kwargs))))


@pytest.fixture(scope="session", params=LAYOUTS)
def live_site(
    request: pytest.FixtureRequest, django_db_setup: Any, django_db_blocker: Any
) -> Iterator[LiveSite]:
    """The site in one serving layout (tests/live/layouts.py): every browser test runs once
    against ``dev`` (one daphne) and once against ``production`` (nginx, gunicorn, daphne);
    the layout shows in the test id, so ``-k production`` picks one."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.fail("browser tests need PostgreSQL (set DATABASE_URL)")
    try:
        with live_site_for(request.param) as site:
            yield site
    except RuntimeError as exc:  # did not start: say why, as a failure, not an error
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def live_url(live_site: LiveSite) -> str:
    """The base URL of ``live_site``."""
    return live_site.url


@pytest.fixture(scope="session")
def browser() -> Iterator[Remote]:
    """Headless Chromium, driven from a thread of its own (see the module docstring)."""
    global _worker
    _worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix=WORKER_NAME)

    def start() -> tuple[Any, Any]:
        from playwright.sync_api import sync_playwright

        playwright = sync_playwright().start()
        return playwright, playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)

    playwright, chromium = _in_worker(start)
    try:
        yield Remote(chromium)
    finally:
        _in_worker(chromium.close)
        _in_worker(playwright.stop)
        _worker.shutdown()
        _worker = None


def new_context(chromium: Any, base_url: str, *, session_key: str = "", **options: Any) -> Any:
    """A browser context on ``base_url`` (call it in the browser thread, e.g. in
    ``in_browser``): 10 s timeouts and the CSP listener; over HTTPS (the production layout)
    it accepts that layout's throwaway certificate; with ``session_key``, logged in."""
    context = chromium.new_context(
        base_url=base_url, ignore_https_errors=base_url.startswith("https://"), **options
    )
    context.set_default_timeout(10_000)
    context.add_init_script(CSP_LISTENER)
    if session_key:
        name = session_cookie_name(base_url)
        context.add_cookies([{"name": name, "value": session_key, "url": base_url}])
    return context


def watch_problems(page: Any, problems: list[str]) -> None:
    """Collect on ``problems`` what a page should never show: console errors, script errors
    and a failing script, stylesheet or image (pages themselves may answer 4xx on purpose)."""
    page.on(
        "console",
        lambda msg: (
            problems.append(msg.text)
            if msg.type == "error" and not msg.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on(
        "response",
        lambda response: (
            problems.append(f"{response.status} {response.url}")
            if response.status >= 400 and response.request.resource_type != "document"
            else None
        ),
    )


@pytest.fixture
def page(browser: Remote, live_url: str) -> Iterator[Remote]:
    """A fresh context (no cookies) and page; ``page.problems`` lists CSP violations and
    console errors seen so far."""
    problems: list[str] = []

    def open_page() -> tuple[Any, Any]:
        context = new_context(_unwrap(browser), live_url, accept_downloads=True)
        page = context.new_page()
        watch_problems(page, problems)
        return context, page

    context, raw_page = _in_worker(open_page)
    remote = Remote(raw_page)
    object.__setattr__(remote, "problems", problems)
    try:
        yield remote
    finally:
        _in_worker(context.close)
