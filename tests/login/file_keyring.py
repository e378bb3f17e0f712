"""A keyring backend for tests only: the keyring package's API over a JSON file named by SAMLFED_TEST_KEYRING.

The real client talks to whatever OS keyring the user has; CI machines have none, so the tests plug this in.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from keyring.backend import KeyringBackend


class FileKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def _path(self) -> Path:
        return Path(os.environ["SAMLFED_TEST_KEYRING"])

    def _all(self) -> dict[str, str]:
        path = self._path()
        return json.loads(path.read_text()) if path.exists() else {}

    def get_password(self, service: str, username: str) -> str | None:
        return self._all().get(f"{service}\x00{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        values = self._all()
        values[f"{service}\x00{username}"] = password
        self._path().write_text(json.dumps(values))

    def delete_password(self, service: str, username: str) -> None:
        values = self._all()
        values.pop(f"{service}\x00{username}", None)
        self._path().write_text(json.dumps(values))
