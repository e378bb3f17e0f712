"""The IdP's signing keys, with a pre-published next key so that rotation never breaks a registered provider.

There is always a *next* key in the metadata besides the signing key. `rotate` schedules the next key to take
over signing after a grace period and publishes a fresh next key at once. A provider that registered the
metadata at any time before the rotation already trusts the key that signs after it; a provider that registered
during the grace period trusts the key after that too. Keys past their signing period leave the metadata.

A later rotation supersedes earlier ones: the key in force is the newest key (keys.json lists them oldest first)
whose start has come. `--grace 24h` then `--grace 1h` signs with the second key after an hour, and the first one
never signs, even when its start comes later: signing never moves back to an older key.

Files: `<dir>/keys.json` (which key signs from when) and one PEM key (0600) and certificate per key id; every change
of them holds `<dir>/keys.lock` (the workers of `serve --workers N` start on a fresh directory together).
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509

from ..files import read_or_create_private
from ..saml.signing import IdpSigner
from .state import StateUnavailable

CERTIFICATE_LIFETIME = timedelta(days=5 * 365)


class KeysUnavailable(StateUnavailable):
    """keys.json or a key file it names cannot be read (edited by hand, restored in part): the IdP cannot sign until
    the operator repairs it; its pages answer 503 as for the other files of its own."""


@dataclass(frozen=True)
class KeyEntry:
    kid: str
    created: datetime
    signs_from: datetime | None
    """None: published, not yet scheduled to sign."""


class KeyStore:
    def __init__(self, directory: Path, common_name: str = "samlfed built-in IdP") -> None:
        self.directory = directory
        self.common_name = common_name
        self._signers: dict[str, IdpSigner] = {}
        self._entries: list[KeyEntry] = []
        self._stamp: float | None = None
        if not (directory / "keys.json").exists():
            with self._locked():
                if not (directory / "keys.json").exists():  # another process may have made it meanwhile
                    self._initialise()
        self._reload()

    # --- reading ------------------------------------------------------------------------------------

    def _reload(self) -> None:
        """Re-read the key list when another process (`samlfed idp rotate-key`) changed it."""
        path = self.directory / "keys.json"
        try:
            stamp = path.stat().st_mtime_ns
            if stamp == self._stamp:
                return
            data = json.loads(path.read_text())
            entries = [
                KeyEntry(e["kid"], datetime.fromisoformat(e["created"]), datetime.fromisoformat(e["signs_from"]) if e["signs_from"] else None)
                for e in data["keys"]
            ]
            if not any(e.signs_from is not None for e in entries):
                raise ValueError("no key is scheduled to sign")
            for entry in entries:
                if entry.kid not in self._signers:
                    self._signers[entry.kid] = IdpSigner.from_pem(
                        (self.directory / f"{entry.kid}.key.pem").read_bytes(), (self.directory / f"{entry.kid}.crt.pem").read_bytes()
                    )
        except OSError as exc:
            raise KeysUnavailable(f"The IdP's signing keys in {self.directory} cannot be read: {exc.strerror or exc}") from None
        except (ValueError, KeyError, TypeError, AttributeError) as exc:  # JSON, dates and PEM that are no longer what was written
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            raise KeysUnavailable(f"The IdP's key list {path} is damaged ({reason}); restore it and its key files") from None
        self._entries = entries
        self._stamp = stamp

    def signing_entry(self, now: datetime) -> KeyEntry:
        """The newest key whose start has come: a rotation supersedes every key scheduled before it."""
        self._reload()
        return self._entries[self._in_force(now)]

    def _in_force(self, now: datetime) -> int:
        """The index of the signing key in the list, which is oldest first (rotations append and keep the order)."""
        started = [i for i, e in enumerate(self._entries) if e.signs_from is not None and e.signs_from <= now]
        if started:
            return started[-1]
        # A clock before the first key's start (skew, or a pinned test clock): the key that starts first.
        scheduled = [i for i, e in enumerate(self._entries) if e.signs_from is not None]
        return min(scheduled, key=lambda i: self._entries[i].signs_from or now)

    def signer(self, now: datetime) -> IdpSigner:
        return self._signers[self.signing_entry(now).kid]

    def published(self, now: datetime) -> list[x509.Certificate]:
        """The signing key's certificate first, then every newer key (scheduled or waiting): any of them may sign
        later, with or without another rotation. Older keys never sign again: a newer one has started."""
        self._reload()
        index = self._in_force(now)
        return [self._signers[e.kid].certificate for e in self._entries[index:]]

    def entries(self) -> list[KeyEntry]:
        self._reload()
        return list(self._entries)

    # --- writing ------------------------------------------------------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """Held around every change: without it, workers starting together each made keys (all but one pair
        orphaned), and wrote keys.json through one temporary file, which could then be renamed half-written."""
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.directory / "keys.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _initialise(self) -> None:
        now = datetime.now(UTC)
        entries = [KeyEntry(self._new_key(now), now, now), KeyEntry(self._new_key(now), now, None)]
        self._write(entries)

    def rotate(self, now: datetime, grace: timedelta) -> KeyEntry:
        """Schedule the waiting next key to sign from now + grace, publish a new next key; returns the scheduled key."""
        with self._locked():
            return self._rotate(now, grace)

    def _rotate(self, now: datetime, grace: timedelta) -> KeyEntry:
        self._reload()
        # Keys older than the current one never sign again: forget them.
        keep = self._entries[self._in_force(now):]
        waiting = [e for e in keep if e.signs_from is None]
        if not waiting:  # cannot happen with files we wrote; recover by making one
            waiting = [KeyEntry(self._new_key(now), now, None)]
            keep.extend(waiting)
        scheduled = KeyEntry(waiting[0].kid, waiting[0].created, now + grace)
        entries = [scheduled if e.kid == scheduled.kid else e for e in keep] + [KeyEntry(self._new_key(now), now, None)]
        self._write(entries)
        for retired in {e.kid for e in self._entries} - {e.kid for e in entries}:
            for suffix in (".key.pem", ".crt.pem"):
                (self.directory / f"{retired}{suffix}").unlink(missing_ok=True)
        self._reload()
        return scheduled

    def _new_key(self, now: datetime) -> str:
        kid = secrets.token_hex(8)
        signer = IdpSigner.generate(self.common_name, not_before=now - timedelta(minutes=5), not_after=now + CERTIFICATE_LIFETIME)
        read_or_create_private(self.directory / f"{kid}.key.pem", signer.key_pem)
        (self.directory / f"{kid}.crt.pem").write_bytes(signer.cert_pem())
        return kid

    def _write(self, entries: list[KeyEntry]) -> None:
        data = {
            "keys": [
                {"kid": e.kid, "created": e.created.isoformat(), "signs_from": e.signs_from.isoformat() if e.signs_from else None}
                for e in entries
            ]
        }
        temporary = self.directory / "keys.json.tmp"
        temporary.write_text(json.dumps(data, indent=2))
        os.replace(temporary, self.directory / "keys.json")
