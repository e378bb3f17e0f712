"""The demo federation on 127.0.0.1 for the login client tests (see login_setup)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from demo_stack import demo_server


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    with demo_server(tmp_path_factory.mktemp("login")) as stack:
        yield stack
