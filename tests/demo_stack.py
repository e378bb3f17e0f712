"""`samlfed demo` in a thread for the IdP and console tests, and the HTML helpers a scripted browser needs."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pyotp
from servers import app_in_thread, free_port

from samlfed.config import Settings
from samlfed.idp.demo import seed
from samlfed.idp.mount import identity_provider
from samlfed.server import build_context, build_server_app


class Forms(HTMLParser):
    """Every <form> of a page with its action and input values, as a browser would submit them."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.forms: list[dict] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "form":
            self.forms.append({"action": values.get("action"), "method": values.get("method"), "fields": {}})
        elif tag in ("input", "button") and self.forms and values.get("name"):
            if values.get("type") == "radio" and "checked" not in values:
                return
            self.forms[-1]["fields"][values["name"]] = values.get("value") or ""


def forms(response: httpx.Response) -> list[dict]:
    return Forms(response.text).forms


@contextmanager
def demo_server(data_dir: Path, prepare=None, **settings: object) -> Iterator[dict]:  # type: ignore[no-untyped-def]
    """The demo federation on 127.0.0.1; `prepare(ctx, idp, url)` runs after seeding, before serving."""
    port = free_port()
    config = Settings(data_dir=data_dir, port=port, public_url=f"http://127.0.0.1:{port}", with_idp=True, **settings)  # type: ignore[arg-type]
    ctx = build_context(config)
    idp = identity_provider(config)
    result = seed(ctx, idp, config.base_url, data_dir)
    if prepare is not None:
        prepare(ctx, idp, config.base_url)
    passwords = {u.username: u.password for u in result.users}
    totp = {u.username: u.totp_secret for u in result.users if u.totp_secret}
    with app_in_thread(build_server_app(config, ctx), port) as url:
        yield {"url": url, "idp": idp, "seed": result, "passwords": passwords, "totp": totp, "ctx": ctx, "settings": config}


def login(demo: dict, client: httpx.Client, username: str, *, password: str | None = None, otp: str | None = None) -> httpx.Response:
    """Fill in and submit the login form the IdP serves; returns the (not followed) answer."""
    page = client.get(f"{demo['url']}/idp/login")
    form = forms(page)[0]
    fields = {**form["fields"], "username": username, "password": password or demo["passwords"][username]}
    if otp is None and username in demo["totp"]:
        otp = pyotp.TOTP(demo["totp"][username]).now()
    fields["otp"] = otp or ""
    return client.post(f"{demo['url']}{form['action'].removeprefix(demo['url'])}", data=fields)


def saml_response_of(page: httpx.Response) -> tuple[str, str, dict]:
    """(ACS URL, SAMLResponse, all fields) of an auto-POST page."""
    form = next(f for f in forms(page) if "SAMLResponse" in f["fields"])
    assert re.search(r'<script nonce="[^"]+">document.getElementById\("saml-form"\).submit\(\);</script>', page.text)
    return form["action"], form["fields"]["SAMLResponse"], form["fields"]


def idp_initiated(demo: dict, browser: httpx.Client, username: str) -> str:
    """Sign in at the IdP and launch the AWS application from the portal; returns the SAMLResponse it posts."""
    login(demo, browser, username)
    portal = browser.get(f"{demo['url']}/idp/")
    launch = next(f for f in forms(portal) if "/launch/aws" in (f["action"] or ""))
    _, saml_response, _ = saml_response_of(browser.post(launch["action"], data=launch["fields"]))
    return saml_response
