"""The URLs that name a provider by its SAMLProviderUUID take any path segment. On PostgreSQL, which refuses a NUL in
a text parameter, a segment that is no UUID must still get the 404 or the sign-in error page, never a 500."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from postgres_scratch import served_on_scratch_database


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with served_on_scratch_database("samlfed_uuid_paths", Path(tmp_path_factory.mktemp("data"))) as (base, _):
        yield base


@pytest.mark.parametrize("segment", ["%00", "A%00" + "B" * 24, "x" * 65, "NOSUCHPROVIDER0000000000"])
def test_a_segment_that_names_no_provider(url: str, segment: str) -> None:
    metadata = httpx.get(f"{url}/static/saml/{segment}/saml-metadata.xml")
    assert (metadata.status_code, metadata.text) == (404, "No SAML provider has this UUID.")
    acs = httpx.post(f"{url}/saml/acs/{segment}", data={"SAMLResponse": "PHg+"})
    assert acs.status_code == 400 and "Specified provider doesn&#39;t exist." in acs.text
