"""With require_sp_initiated, a response finishes only the sign-in of the browser that started it (no login CSRF).

Over HTTP with scripted browsers, and in Chromium with the IdP on another site than the console, so that the
IdP's form POST is cross-site (the sign-in cookie is SameSite=Lax: the console re-posts it from its own page).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from console_setup import prepare
from demo_stack import demo_server, forms, login, saml_response_of
from playwright.sync_api import expect, sync_playwright
from servers import app_in_thread, free_port
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route

from samlfed.config import Settings
from samlfed.console.handoff import verification_code
from samlfed.forwarding import ForwardingWatch
from samlfed.idp.demo import provider_arn, seed
from samlfed.idp.mount import identity_provider
from samlfed.idp.web import IdpApp
from samlfed.server import build_context, build_server_app

NOT_THIS_BROWSER = "not started in this browser"
STATE = "B" * 20 + "-binding"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    with demo_server(tmp_path_factory.mktemp("binding"), prepare, require_sp_initiated=True) as stack:
        yield stack


def _answer_to_own_request(demo: dict, browser: httpx.Client, start: str = "/console") -> dict:
    """The IdP's auto-post fields answering a sign-in that `browser` started at `start` (signed in as alice)."""
    login(demo, browser, "alice")
    begin = browser.get(f"{demo['url']}{start}")
    assert begin.status_code == 303
    _, _, fields = saml_response_of(browser.get(begin.headers["location"]))
    return fields


def _post_as_browser(demo: dict, browser: httpx.Client, fields: dict) -> httpx.Response:
    """POST to the ACS as a browser would, following the console's re-post page when it sends one."""
    answer = browser.post(f"{demo['url']}/saml", data=fields)
    again = [form for form in forms(answer) if "bounced" in form["fields"]]
    if again:
        answer = browser.post(f"{demo['url']}{again[0]['action']}", data=again[0]["fields"])
    return answer


def test_the_browser_that_started_the_sign_in_finishes_it(demo: dict) -> None:
    with httpx.Client() as browser:
        fields = _answer_to_own_request(demo, browser)
        chooser = _post_as_browser(demo, browser, fields)
        assert chooser.status_code == 200 and "saml_form" in chooser.text
        choose = next(form for form in forms(chooser) if form["action"] == "/saml")
        signed_in = browser.post(f"{demo['url']}/saml", data=choose["fields"])
        assert signed_in.status_code == 303 and browser.get(f"{demo['url']}/console").status_code == 200


def test_an_answer_posted_from_another_browser_signs_nobody_in(demo: dict) -> None:
    with httpx.Client() as attacker:
        fields = _answer_to_own_request(demo, attacker)
        chooser = _post_as_browser(demo, attacker, fields)
        choose = next(form for form in forms(chooser) if form["action"] == "/saml")
    with httpx.Client() as victim:  # no sign-in cookie at all
        refused = _post_as_browser(demo, victim, fields)
        assert refused.status_code == 403 and NOT_THIS_BROWSER in refused.text
        # The chooser's post too, even claiming to be the console's re-post already.
        assert victim.post(f"{demo['url']}/saml", data={**choose["fields"], "bounced": "1"}).status_code == 403
    with httpx.Client() as victim:  # a sign-in of its own under way: another nonce
        assert victim.get(f"{demo['url']}/console").status_code == 303
        refused = _post_as_browser(demo, victim, fields)
        assert refused.status_code == 403 and NOT_THIS_BROWSER in refused.text
        chose = victim.post(f"{demo['url']}/saml", data=choose["fields"])
        assert chose.status_code == 403 and "samlfed_console" not in chose.headers.get("set-cookie", "")


def test_the_sign_in_cookie_is_short_lived_http_only_and_lax(demo: dict) -> None:
    with httpx.Client() as browser:
        begin = browser.get(f"{demo['url']}/console")
        cookie = begin.headers["set-cookie"]
        assert cookie.startswith("samlfed_signin=") and "HttpOnly" in cookie and "SameSite=lax" in cookie and "Max-Age=300" in cookie
        again = browser.get(f"{demo['url']}/console")  # a second tab keeps the first tab's nonce
        assert again.headers["set-cookie"].split(";")[0] == cookie.split(";")[0]


def test_the_command_line_sign_in_still_reaches_its_handoff_page(demo: dict) -> None:
    with httpx.Client() as browser:
        fields = _answer_to_own_request(demo, browser, f"/saml/cli?port=45683&state={STATE}")
        page = _post_as_browser(demo, browser, fields)
        assert page.status_code == 200 and verification_code(STATE) in page.text
    with httpx.Client() as other:
        fields = _answer_to_own_request(demo, other, f"/saml/cli?port=45683&state={STATE}")
    with httpx.Client() as victim:
        refused = _post_as_browser(demo, victim, fields)
        assert refused.status_code == 403 and NOT_THIS_BROWSER in refused.text


@pytest.fixture(scope="module")
def cross_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """The console at 127.0.0.1 and the IdP at idp.test (another site; Chromium maps the name to 127.0.0.1)."""
    root: Path = tmp_path_factory.mktemp("cross-site")
    idp_port, console_port = free_port(), free_port()
    idp = identity_provider(Settings(data_dir=root / "idp", port=idp_port, public_url=f"http://idp.test:{idp_port}", with_idp=True))
    settings = Settings(
        data_dir=root / "console", port=console_port, public_url=f"http://127.0.0.1:{console_port}",
        require_sp_initiated=True, console_provider=provider_arn("111111111111"),
    )
    ctx = build_context(settings)
    result = seed(ctx, idp, settings.base_url, root / "console")
    idp_app = Starlette(routes=[Mount("/idp", IdpApp(idp, ForwardingWatch(())).app()), Route("/healthz", lambda _: PlainTextResponse("ok"))])
    with app_in_thread(idp_app, idp_port), app_in_thread(build_server_app(settings, ctx), console_port) as url:
        yield {"url": url, "idp_port": idp_port, "passwords": {u.username: u.password for u in result.users}}


def test_a_cross_site_idp_post_signs_in_the_browser_that_started_it_in_chromium(cross_site: dict) -> None:
    url, passwords = cross_site["url"], cross_site["passwords"]
    executable = shutil.which("chromium")
    assert executable, "Debian's chromium is required (make test installs it)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=["--no-sandbox", "--host-resolver-rules=MAP idp.test 127.0.0.1"])
        context = browser.new_context()
        page = context.new_page()
        posts: list[bool] = []  # each POST to the ACS: whether it carried the sign-in cookie
        page.on("request", lambda r: posts.append("samlfed_signin=" in (r.all_headers().get("cookie") or "")) if r.method == "POST" and r.url == f"{url}/saml" else None)
        page.goto(f"{url}/console")
        page.wait_for_url(f"http://idp.test:{cross_site['idp_port']}/idp/login")
        page.fill("input[name=username]", "bob")
        page.fill("input[name=password]", passwords["bob"])
        page.click("button[type=submit]")
        page.wait_for_url(f"{url}/console")  # bob has one role: the chooser submits itself
        expect(page.locator("#assumed-role-arn")).to_contain_text(":assumed-role/ReadOnly/")
        # The IdP's cross-site POST came without the Lax cookie; the console's own re-post and the chooser's with it.
        assert posts == [False, True, True]

        # Another browser posts an answer to the attacker's own request from a page of another site: refused.
        def at_idp(location: str) -> str:  # httpx cannot resolve idp.test
            return location.replace("//idp.test:", "//127.0.0.1:")

        with httpx.Client() as attacker:
            begin = attacker.get(f"{url}/console")
            login_page = attacker.get(at_idp(begin.headers["location"]), follow_redirects=True)
            form = forms(login_page)[0]
            answer = attacker.post(at_idp(str(login_page.url.join(form["action"]))), data={**form["fields"], "username": "bob", "password": passwords["bob"], "otp": ""})
            _, _, fields = saml_response_of(answer)
        victim_context = browser.new_context()
        victim_context.new_page().goto(f"{url}/console")  # the victim's own sign-in under way: a nonce of its own
        victim = victim_context.new_page()  # the attacker's page (about:blank: no site of ours)
        inputs = "".join(f'<input type="hidden" name="{name}" value="{value}">' for name, value in fields.items())
        victim.set_content(f'<form id="f" method="post" action="{url}/saml">{inputs}</form><script>document.getElementById("f").submit()</script>')
        victim.wait_for_url(f"{url}/saml")
        expect(victim.locator("body")).to_contain_text(NOT_THIS_BROWSER)
        assert "samlfed_console" not in {cookie["name"] for cookie in victim.context.cookies()}
        browser.close()
