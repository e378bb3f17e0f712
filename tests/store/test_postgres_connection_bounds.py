"""PostgreSQL connections carry libpq's timeouts and keepalives, so that a vanished server fails a request (and
the readiness probe) within about a minute instead of the kernel's quarter of an hour; settings the database URL
names itself win."""

from __future__ import annotations

from postgres_scratch import scratch_schema

from samlfed.store import SqlStore
from samlfed.store.sql import POSTGRES_CONNECTION_DEFAULTS


def connection_parameters(settings: str = "") -> dict[str, str]:
    """libpq's parameters of a store connection, with `settings` (e.g. "&connect_timeout=3") added to its URL."""
    with scratch_schema("samlfed_bounds") as url:
        store = SqlStore.open(url + settings)
        try:
            with store.engine.connect() as connection:
                return connection.connection.dbapi_connection.info.get_parameters()  # type: ignore[union-attr]
        finally:
            store.engine.dispose()


def test_every_connection_is_bounded_by_default() -> None:
    parameters = connection_parameters()
    assert {name: parameters.get(name) for name in POSTGRES_CONNECTION_DEFAULTS} == POSTGRES_CONNECTION_DEFAULTS


def test_the_database_url_overrides_a_default() -> None:
    parameters = connection_parameters("&connect_timeout=3&keepalives_idle=7")  # the scratch URL has a query already
    assert (parameters["connect_timeout"], parameters["keepalives_idle"]) == ("3", "7")
    assert parameters["tcp_user_timeout"] == POSTGRES_CONNECTION_DEFAULTS["tcp_user_timeout"]
