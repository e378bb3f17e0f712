"""Lists the store answers in its own order come in the same order from every backend, whatever the PostgreSQL
database's collation: ListSAMLProviders, and a role's inline policies (GetAccountAuthorizationDetails' RolePolicyList).
On a database made with a linguistic collation (ICU's en-US here; en_US.UTF-8 and the like order alike) PostgreSQL
listed `alpha, corp, Corp_A, Corp-B, Zeta` where SQLite listed `Corp-B, Corp_A, Zeta, alpha, corp`."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from postgres_scratch import POSTGRES_URL
from sqlalchemy import create_engine, make_url, text

from samlfed.store import Account, Role, SamlProvider, SqlStore

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
ACCOUNT = "111111111111"
NAMES = ["corp", "Corp_A", "Corp-B", "Zeta", "alpha"]


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlStore]:
    if request.param == "sqlite":
        opened = SqlStore.open(f"sqlite:///{tmp_path / 'samlfed.db'}")
        yield opened
        opened.engine.dispose()
        return
    name = f"samlfed_collation_{secrets.token_hex(4)}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8' LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"))
    try:
        opened = SqlStore.open(make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False))
        yield opened
        opened.engine.dispose()
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_saml_providers_are_listed_by_arn_as_python_orders_them(store: SqlStore) -> None:
    store.create_account(Account(ACCOUNT, None, NOW))
    for number, name in enumerate(NAMES):
        store.create_provider(SamlProvider(f"arn:aws:iam::{ACCOUNT}:saml-provider/{name}", ACCOUNT, name, f"UUID{number:018d}", "<md/>", None, NOW))
    listed = [summary.arn for summary in store.list_provider_summaries(ACCOUNT)]
    assert listed == sorted(listed) and len(listed) == len(NAMES)


def test_a_role_s_inline_policies_are_listed_by_name_as_python_orders_them(store: SqlStore) -> None:
    store.create_account(Account(ACCOUNT, None, NOW))
    store.create_role(Role(ACCOUNT, "Dev", "AROADEVXXXXXXXXXXXXXX", "/", f"arn:aws:iam::{ACCOUNT}:role/Dev", "{}", 3600, NOW))
    for name in NAMES:
        store.put_role_policy(ACCOUNT, "Dev", name, "{}")
    assert store.list_role_policies(ACCOUNT, "Dev") == sorted(NAMES)
    assert [name for name, _ in store.role_grants(ACCOUNT, "Dev").inline] == sorted(NAMES)
    ((_, inline, _, _),) = store.role_details(ACCOUNT, ["Dev"])
    assert [name for name, _ in inline] == sorted(NAMES)
