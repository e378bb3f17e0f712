"""Debian's Chromium driven by Playwright, for the tests of pages (Playwright cannot download its own browser here)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from playwright.sync_api import Browser, sync_playwright


@contextmanager
def launch_chromium(args: Sequence[str] = ()) -> Iterator[Browser]:
    """A headless Chromium, closed on exit; `args`: more command-line switches."""
    executable = shutil.which("chromium")
    assert executable, "Debian's chromium is required (make test installs it)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=["--no-sandbox", *args])
        try:
            yield browser
        finally:
            browser.close()
