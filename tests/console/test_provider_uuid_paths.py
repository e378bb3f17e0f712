"""The URLs that name a provider by its SAMLProviderUUID take any path segment. On PostgreSQL, which refuses a NUL in
a text parameter, a segment that is no UUID must still get the 404 or the sign-in error page, never a 500."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from postgres_scratch import POSTGRES_URL, scratch_database
from servers import app_in_thread
from sqlalchemy import make_url

from samlfed.config import Settings
from samlfed.server import build_context, build_server_app


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with scratch_database("samlfed_uuid_paths") as name:
        database_url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
        settings = Settings(data_dir=Path(tmp_path_factory.mktemp("data")), database_url=database_url)
        ctx = build_context(settings)
        try:
            with app_in_thread(build_server_app(settings, ctx)) as base:
                yield base
        finally:
            ctx.store.engine.dispose()


@pytest.mark.parametrize("segment", ["%00", "A%00" + "B" * 24, "x" * 65, "NOSUCHPROVIDER0000000000"])
def test_a_segment_that_names_no_provider(url: str, segment: str) -> None:
    metadata = httpx.get(f"{url}/static/saml/{segment}/saml-metadata.xml")
    assert (metadata.status_code, metadata.text) == (404, "No SAML provider has this UUID.")
    acs = httpx.post(f"{url}/saml/acs/{segment}", data={"SAMLResponse": "PHg+"})
    assert acs.status_code == 400 and "Specified provider doesn&#39;t exist." in acs.text
