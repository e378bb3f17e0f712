"""`--method browser` in Chromium: the response reaches the loopback listener only when the user presses Send on
a page showing the code the command printed, with or without JavaScript."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from chromium import launch_chromium
from playwright.sync_api import Browser, Page

from samlfed.console.handoff import verification_code
from samlfed.login.browser import BrowserResult, browser_login


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with launch_chromium() as browser:
        yield browser


class Waiting:
    """`browser_login` in a thread, as `samlfed login` runs it; the lines it tells the user."""

    def __init__(self, endpoint: str) -> None:
        self.lines: list[str] = []
        self.result: BrowserResult | None = None
        self.thread = threading.Thread(target=self._run, args=(endpoint,), daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while len(self.lines) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)

    def _run(self, endpoint: str) -> None:
        self.result = browser_login(endpoint, open_browser=False, tell=self.lines.append, timeout=60)

    @property
    def url(self) -> str:
        return re.search(r"Sign in in your browser: (\S+)", self.lines[0]).group(1)  # type: ignore[union-attr]

    @property
    def code(self) -> str:
        return re.search(r"shows the code ([A-Z2-7]{4}-[A-Z2-7]{4}), then press Send", self.lines[1]).group(1)  # type: ignore[union-attr]


def _sign_in_at_the_idp(page: Page, demo: dict) -> None:
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", demo["passwords"]["alice"])
    page.click("button[type=submit]")


def test_the_listener_receives_nothing_until_send_is_pressed(chromium: Browser, demo: dict) -> None:
    waiting = Waiting(demo["url"])
    assert urlsplit(waiting.url).query == ""  # the state goes to the browser by redirect, not its command line
    context = chromium.new_context()
    page = context.new_page()
    redirects: list[str] = []
    page.on("request", lambda request: redirects.append(request.url))
    page.goto(waiting.url)
    query = parse_qs(urlsplit(next(url for url in redirects if "/saml/cli?" in url)).query)
    assert waiting.code == verification_code(query["state"][0])
    _sign_in_at_the_idp(page, demo)
    page.wait_for_selector("#verification-code")
    assert page.text_content("#verification-code") == waiting.code
    assert page.text_content("#handoff-port") == query["port"][0]
    time.sleep(2)  # time enough for any script or refresh to submit the form
    assert waiting.thread.is_alive() and waiting.result is None
    assert page.url == f"{demo['url']}/saml"
    page.click("#send")
    page.wait_for_selector("text=You can close this window")
    waiting.thread.join(timeout=10)
    context.close()
    assert waiting.result is not None and waiting.result.saml_response
    assert waiting.result.roles_accounts and any("acme-dev" in label for label in waiting.result.roles_accounts)


def test_the_hand_off_works_without_javascript(chromium: Browser, demo: dict) -> None:
    waiting = Waiting(demo["url"])
    context = chromium.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(waiting.url)
    _sign_in_at_the_idp(page, demo)
    page.click("#saml-form button")  # the IdP's auto-post page waits for its button without JavaScript
    page.wait_for_selector("#verification-code")
    assert page.text_content("#verification-code") == waiting.code
    page.click("#send")
    page.wait_for_selector("text=You can close this window")
    waiting.thread.join(timeout=10)
    context.close()
    assert waiting.result is not None and waiting.result.saml_response
