"""Opening the console in a browser without putting the sign-in token on a command line.

A browser is started with its URL in its argv, which every local user can read (/proc/PID/cmdline, `ps`), and the
sign-in token is a bearer credential for the console. So the browser is given a file:// URL instead: a page, readable
only by the user, whose form posts the token to /federation. The page cannot be removed as soon as the browser has read
it (a browser launcher returns before the browser reads, often by handing the URL to a running browser), so a detached
process removes it once the token has expired: until then it holds nothing that the profile's credentials (in the
user's own files) do not already give.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import webbrowser
from html import escape
from pathlib import Path

PAGE_LIFETIME_SECONDS = 15 * 60
"""How long a sign-in token is valid (console/federation.py's TOKEN_LIFETIME): the page is worthless after that."""

_REMOVE_LATER = "import shutil, sys, time; time.sleep(float(sys.argv[1])); shutil.rmtree(sys.argv[2], ignore_errors=True)"


def signin_page(action: str, fields: dict[str, str]) -> str:
    """An HTML page that posts `fields` to `action` as soon as it loads (a button, without scripts)."""
    inputs = "\n".join(f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">' for name, value in fields.items())
    return (
        '<!doctype html>\n<html><head><meta charset="utf-8"><meta name="referrer" content="no-referrer">'
        "<title>Signing in to the console</title></head>\n<body>\n"
        f'<form method="post" action="{escape(action)}">\n{inputs}\n<noscript><button type="submit">Sign in to the console</button></noscript>\n</form>\n'
        "<script>document.forms[0].submit();</script>\n</body></html>\n"
    )


def open_signin_page(action: str, fields: dict[str, str]) -> bool:
    """Open the sign-in page in a browser; False if no browser could be started (the page is then gone already)."""
    directory = tempfile.mkdtemp(prefix="samlfed-console-")  # mode 0700
    page = Path(directory) / "signin.html"
    try:
        descriptor = os.open(page, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            out.write(signin_page(action, fields))
        opened = webbrowser.open(page.as_uri())
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    if not opened:
        shutil.rmtree(directory, ignore_errors=True)
        return False
    remove_later(directory, PAGE_LIFETIME_SECONDS)
    return True


def remove_later(directory: str, seconds: int) -> None:
    """Remove the directory after `seconds`, in a process of its own that outlives this one (its argv holds no secret)."""
    try:
        subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", _REMOVE_LATER, str(seconds), directory],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
    except OSError:  # the page stays in the private temporary directory; its token expires all the same
        pass
