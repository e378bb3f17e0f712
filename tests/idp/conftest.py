"""A samlfed server with the built-in IdP on 127.0.0.1, seeded as `samlfed demo` seeds it, plus a python3-saml SP."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser

import httpx
import pyotp
import pytest
from servers import app_in_thread, free_port

from samlfed.config import Settings
from samlfed.idp.demo import seed
from samlfed.idp.directory import read_yaml, write_yaml
from samlfed.idp.mount import identity_provider
from samlfed.server import build_context, build_server_app

INTEROP_SP = {"entity_id": "http://sp.interop.test/metadata", "acs": "http://sp.interop.test/acs"}


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
            self.forms[-1]["fields"][values["name"]] = values.get("value") or ""


def forms(response: httpx.Response) -> list[dict]:
    return Forms(response.text).forms


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    data_dir = tmp_path_factory.mktemp("demo")
    port = free_port()
    settings = Settings(data_dir=data_dir, port=port, public_url=f"http://127.0.0.1:{port}", with_idp=True)
    ctx = build_context(settings)
    idp = identity_provider(settings)
    result = seed(ctx, idp, settings.base_url, data_dir)
    config = read_yaml(idp.config_path)
    config["service_providers"]["interop"] = {
        "display_name": "python3-saml SP",
        "entity_id": INTEROP_SP["entity_id"],
        "acs_urls": [INTEROP_SP["acs"]],
        "claims": {"name_id": "email", "attributes": {"mail": "email", "groups": "groups"}},
    }
    write_yaml(idp.config_path, config)
    passwords = {u.username: u.password for u in result.users}
    totp = {u.username: u.totp_secret for u in result.users if u.totp_secret}
    with app_in_thread(build_server_app(settings, ctx), port) as url:
        yield {"url": url, "idp": idp, "seed": result, "passwords": passwords, "totp": totp, "ctx": ctx}


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
