"""One node starting: run as a separate process by test_startup_race.py.

Arguments: a JSON object {"data_dir" or "database_url", "gate": dir, "count": n}. The nodes meet at two gates
(before opening the store, before reading the key ring) so that they race where first-start work happens.
Prints a JSON line: the active ring key's id and a digest of its bytes, or the error's type and message.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from pathlib import Path


def gate(directory: Path, name: str, count: int) -> None:
    """Wait (at most 30 s) until `count` nodes reached `name`."""
    (directory / f"{name}-{time.monotonic_ns()}-{id(object())}").touch()
    deadline = time.monotonic() + 30
    while len(list(directory.glob(f"{name}-*"))) < count and time.monotonic() < deadline:
        time.sleep(0.001)


def main() -> None:
    from samlfed.config import Settings
    from samlfed.server import build_context

    spec = json.loads(sys.argv[1])
    gates, count = Path(spec["gate"]), spec["count"]
    data_dir = Path(spec["data_dir"]) if spec.get("data_dir") else None
    settings = Settings.from_env(data_dir=data_dir, database_url=spec.get("database_url"))
    gate(gates, "open", count)
    try:
        ctx = build_context(settings)
    except Exception as exc:  # noqa: BLE001 - the test reads the error
        gate(gates, "ring", count)  # the others wait for every node there
        print(json.dumps({"error": type(exc).__name__, "message": str(exc)}))
        return
    gate(gates, "ring", count)
    ring = ctx.key_ring()
    digest = hashlib.sha256(ring.keys[ring.active]).hexdigest()
    print(json.dumps({"active": ring.active, "digest": digest, "keys": sorted(ring.keys)}))


if __name__ == "__main__":
    main()
