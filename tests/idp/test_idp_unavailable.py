"""When the IdP's own files fail it (idp.yaml hand-edited into invalid YAML, idp-state.db on a full disk or
damaged), its pages answer a retryable 503 that names the file, and the log gets one WARNING line per request saying why,
never a 500 with a traceback; the IdP recovers by itself once the file is fixed or space is freed.

Against the demo federation served over real HTTP (demo_stack.demo_server), each test with its own data directory."""

from __future__ import annotations

import errno
import logging
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from demo_stack import demo_server, forms, login
from test_web_flows import _authn_request, _ecp_envelope

from samlfed.idp import state
from samlfed.idp.state import STATE_FILE

SECRET = "JBSWY3DPEHPK3PXPLEAKED"
"""On the broken line of idp.yaml: YAML's own error message quotes that line, and must not reach a page or the log."""


@pytest.fixture
def served(tmp_path: Path) -> Iterator[dict]:
    with demo_server(tmp_path) as stack:
        yield stack


@contextmanager
def warnings_of(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Capture WARNING and above, uvicorn's own records too (its loggers do not propagate: a traceback of an
    unhandled exception goes to `uvicorn.error`)."""
    uvicorn = logging.getLogger("uvicorn")
    uvicorn.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.WARNING):
            yield
    finally:
        uvicorn.removeHandler(caplog.handler)


def assert_one_warning_per_request(caplog: pytest.LogCaptureFixture, requests: int, cause: str) -> None:
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR], caplog.text
    lines = [r.getMessage() for r in caplog.records if r.name == "samlfed.idp" and r.levelno == logging.WARNING]
    assert len(lines) == requests and all(cause in line and "\n" not in line for line in lines), lines


def assert_unavailable_page(answer: httpx.Response, cause: str) -> None:
    assert answer.status_code == 503 and answer.headers["retry-after"] == "5", (answer.status_code, answer.text)
    assert answer.headers["content-type"].startswith("text/html") and "temporarily unavailable" in answer.text
    assert cause in answer.text


def post_login(url: str, browser: httpx.Client, form: dict, username: str, password: str) -> httpx.Response:
    return browser.post(f"{url}/idp/login", data={**form["fields"], "username": username, "password": password, "otp": ""})


def test_a_broken_directory_file_answers_503_until_it_is_fixed(served: dict, caplog: pytest.LogCaptureFixture) -> None:
    url, config = served["url"], served["idp"].config_path
    good = config.read_text()
    envelope = _ecp_envelope(_authn_request("urn:amazon:webservices", "https://signin.aws.amazon.com/saml", "_ecp-1", "urn:oasis:names:tc:SAML:2.0:bindings:PAOS"))
    cause, shown = "idp.yaml is not valid YAML", "cannot use its directory file idp.yaml; its log says why"
    with httpx.Client() as browser:
        form = forms(browser.get(f"{url}/idp/login"))[0]
        config.write_text(good + f"users:\n  alice: [{SECRET}, unclosed\n")  # as the reviewer's printf >> idp.yaml
        with warnings_of(caplog):
            metadata = httpx.get(f"{url}/idp/metadata")
            page = browser.get(f"{url}/idp/login")
            # More tries than the throttle's 5: none may count against alice once the file is fixed.
            posts = [post_login(url, browser, form, "alice", served["passwords"]["alice"]) for _ in range(6)]
            ecp = httpx.post(f"{url}/idp/ecp", content=envelope, auth=("alice", "x"), headers={"Content-Type": "text/xml"})
        assert metadata.status_code == 503 and metadata.headers["retry-after"] == "5", (metadata.status_code, metadata.text)
        assert metadata.headers["content-type"].startswith("text/plain") and shown in metadata.text
        for answer in (page, *posts):
            assert_unavailable_page(answer, shown)
        assert ecp.status_code == 503 and ecp.headers["retry-after"] == "5" and b"soap11:Server" in ecp.content and shown.encode() in ecp.content
        for answer in (metadata, page, *posts, ecp):
            assert SECRET not in answer.text and "unclosed" not in answer.text and cause not in answer.text
        assert_one_warning_per_request(caplog, 9, cause)
        assert SECRET not in caplog.text

        config.write_text(good)  # the IdP re-reads the file when it changes
        assert httpx.get(f"{url}/idp/metadata").status_code == 200
        assert login(served, browser, "alice").status_code == 303


def test_what_is_wrong_with_the_directory_file_is_told_to_the_operator_only(served: dict, caplog: pytest.LogCaptureFixture) -> None:
    """A reason names users and settings: an anonymous visitor learns only that the file is unusable."""
    url, config = served["url"], served["idp"].config_path
    good = config.read_text()
    users = good.index("\nusers:\n") + len("\nusers:\n")  # the demo's users, then one without a password_hash
    config.write_text(good[:users] + "  ceo.jane.doe:\n    attributes: {}\n" + good[users:])
    with warnings_of(caplog):
        metadata = httpx.get(f"{url}/idp/metadata")
        page = httpx.get(f"{url}/idp/login")
    for answer in (metadata, page):
        assert answer.status_code == 503 and "idp.yaml" in answer.text and "ceo.jane.doe" not in answer.text, answer.text
    assert_one_warning_per_request(caplog, 2, "ceo.jane.doe")
    config.write_text(good)
    assert httpx.get(f"{url}/idp/metadata").status_code == 200


def test_a_full_disk_under_the_state_file_answers_503_until_space_is_freed(
    served: dict, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real SQLITE_FULL ("database or disk is full"), without a full disk: each connection the IdP opens to its
    state file gets `PRAGMA max_page_count = 1`, so the file cannot grow past its first page, as on a full disk
    (the same device tests/test_database_unavailable.py uses for the main database). A fresh state file is used
    (the IdP's first sign-in), since the file's tables must need new pages. A real small filesystem (tmpfs) would need
    mount privileges that CI containers rarely have."""
    url = served["url"]
    (served["idp"].config_path.parent / STATE_FILE).unlink(missing_ok=True)
    connect = sqlite3.connect

    def on_a_full_disk(database, *args, **kwargs):  # type: ignore[no-untyped-def]
        connection = connect(database, *args, **kwargs)
        if Path(database).name == STATE_FILE:
            connection.execute("PRAGMA max_page_count = 1")
        return connection

    monkeypatch.setattr(state.sqlite3, "connect", on_a_full_disk)
    cause = "database or disk is full"
    with httpx.Client() as browser:
        form = forms(browser.get(f"{url}/idp/login"))[0]
        with warnings_of(caplog):
            answers = [post_login(url, browser, form, "alice", served["passwords"]["alice"]) for _ in range(2)]
        for answer in answers:
            assert_unavailable_page(answer, cause)
            assert STATE_FILE in answer.text
        assert_one_warning_per_request(caplog, 2, cause)

        monkeypatch.undo()  # space is freed
        assert login(served, browser, "alice").status_code == 303
        assert browser.get(f"{url}/idp/").status_code == 200


@pytest.mark.parametrize(("damage", "cause"), [("not a database", "file is not a database"), ("a directory", STATE_FILE)])
def test_a_damaged_state_file_answers_503_until_it_is_replaced(served: dict, caplog: pytest.LogCaptureFixture, damage: str, cause: str) -> None:
    """The state file replaced, while the IdP serves, by one SQLite refuses: a file of other bytes, or a directory."""
    url, path = served["url"], served["idp"].config_path.parent / STATE_FILE
    with httpx.Client() as browser:
        assert login(served, browser, "alice").status_code == 303  # the IdP has opened its state file
        form = forms(browser.get(f"{url}/idp/login"))[0]
        path.unlink()
        if damage == "a directory":
            path.mkdir()
        else:
            path.write_bytes(b"not a database " * 100)
        with warnings_of(caplog):
            portal = browser.get(f"{url}/idp/")  # the session's generation is read from the state file
            posts = [post_login(url, browser, form, "bob", served["passwords"]["bob"]) for _ in range(2)]
        for answer in (portal, *posts):
            assert_unavailable_page(answer, cause)
        assert_one_warning_per_request(caplog, 3, cause)

        shutil.rmtree(path) if path.is_dir() else path.unlink()  # the IdP makes a new one
        assert login(served, browser, "bob").status_code == 303
        assert browser.get(f"{url}/idp/").status_code == 200


def test_a_directory_file_that_cannot_be_looked_up_answers_503_until_it_can(
    served: dict, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The IdP's directory made unsearchable for the IdP's user while it serves (a restore run as another user,
    before it sets the modes back): even the look at idp.yaml's version is refused. A real EACCES needs a user
    other than root, which CI containers rarely run tests as: Path.stat refuses idp.yaml as the kernel would."""
    url, config = served["url"], served["idp"].config_path
    stat = Path.stat

    def refused(path: Path, *args, **kwargs):  # type: ignore[no-untyped-def]
        if path == config:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return stat(path, *args, **kwargs)

    with httpx.Client() as browser:
        assert login(served, browser, "alice").status_code == 303
        monkeypatch.setattr(Path, "stat", refused)
        with warnings_of(caplog):
            metadata = httpx.get(f"{url}/idp/metadata")
            portal = browser.get(f"{url}/idp/")
        assert metadata.status_code == 503 and "idp.yaml" in metadata.text, (metadata.status_code, metadata.text)
        assert_unavailable_page(portal, "idp.yaml")
        assert_one_warning_per_request(caplog, 2, "idp.yaml cannot be read: Permission denied")
        monkeypatch.undo()
        assert httpx.get(f"{url}/idp/metadata").status_code == 200
        assert browser.get(f"{url}/idp/").status_code == 200  # the file is as it was: the session stands


def test_a_state_file_locked_elsewhere_answers_503_saying_so_until_the_lock_is_let_go(
    served: dict, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another program holds the state file's write lock (the sqlite3 shell in a transaction) past the IdP's wait: the
    page and the log said to free disk space or repair the file, which is sound (advice an operator could follow by
    removing or restoring it, which ends every session). The wait is shortened so that the test does not sit through it."""
    monkeypatch.setattr(state, "BUSY_SECONDS", 0.2)
    url, path = served["url"], served["idp"].config_path.parent / STATE_FILE
    with httpx.Client() as browser:
        assert login(served, browser, "alice").status_code == 303  # the IdP has made its state file
        form = forms(browser.get(f"{url}/idp/login"))[0]
        holder = sqlite3.connect(path, isolation_level=None)
        try:
            holder.execute("BEGIN EXCLUSIVE")
            with warnings_of(caplog):
                answer = post_login(url, browser, form, "bob", served["passwords"]["bob"])
        finally:
            holder.close()  # lets go of the lock, as the other program ending its transaction
        assert_unavailable_page(answer, f"{STATE_FILE} is locked by another process")
        assert "the IdP uses it again once that process lets go of it" in answer.text
        assert "free disk space" not in answer.text and "repair" not in answer.text
        assert_one_warning_per_request(caplog, 1, "is locked by another process")
        assert login(served, browser, "bob").status_code == 303
