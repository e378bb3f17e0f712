"""A samlfed server with the built-in IdP on 127.0.0.1, seeded as `samlfed demo` seeds it, plus a python3-saml SP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from demo_stack import demo_server
from interop_sp import INTEROP_SP

from samlfed.idp.directory import read_yaml, write_yaml


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    def add_interop_sp(_ctx, idp, _url) -> None:  # type: ignore[no-untyped-def]
        config = read_yaml(idp.config_path)
        config["service_providers"]["interop"] = {
            "display_name": "python3-saml SP",
            "entity_id": INTEROP_SP["entity_id"],
            "acs_urls": [INTEROP_SP["acs"]],
            "claims": {"name_id": "email", "attributes": {"mail": "email", "groups": "groups"}},
        }
        write_yaml(idp.config_path, config)

    with demo_server(tmp_path_factory.mktemp("demo"), add_interop_sp) as stack:
        yield stack
