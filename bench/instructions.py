"""CPU instructions per operation, counted by valgrind's callgrind: the noise-free companion of the clocks.

This shared machine's speed drifts by a factor of two within minutes, so a wall-clock A/B of a change worth a
few percent needs dozens of interleaved runs. The number of instructions an operation executes does not drift:
it is the same on every run, to a fraction of a percent, so one run tells whether a change made the code do
less. Instructions are not time (Python-heavy code runs fewer instructions per cycle than OpenSSL or libxml2),
so the wall-clock benchmarks stay the verdict on the targets; this one says where the work is and whether a
change removed some.

Each operation runs in a process of its own under callgrind with instrumentation off; after a warm-up the
process switches it on (`callgrind_control`), runs the operation `--requests` times, and switches it off.

* `samlfed` — one AssumeRoleWithSAML through uvicorn's HTTP protocol (httptools, with samlfed serve's bound on the
  request head) and the real app, in process with no sockets: the server's work per request without the kernel's,
  served from the provider, role and key-ring copies the warm-up read, as a busy server serves it (`counted_world`).
* `fixed reply` — the same request to `http_assume.py`'s fixed-reply Starlette app, answering ~1.9 KB as
  samlfed does: the HTTP ceiling's work.
* `floor reply` — the same request to `http_assume.py`'s validating floor (`floor_app.py`): the fixed reply plus
  the form decode and the signature check.
* `moto` — the same request (one role: moto crashes on two) to moto's WSGI app, without its HTTP server.
* `validate`, `signxml`, `python3-saml`, `floor` — `validate.py`'s contenders on its ~6 KB document.

    .venv/bin/python bench/instructions.py [--requests 100] [--only NAME ...]

Needs valgrind (Debian package `valgrind`; `make bench` installs it when missing).
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import gc
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent / "tests"))

import floor_app  # noqa: E402
import http_assume  # noqa: E402
import validate as validate_bench  # noqa: E402
from saml_factory import DEV_ROLE, PROVIDER_ARN, response_b64, signer  # noqa: E402

from samlfed.config import Settings  # noqa: E402
from samlfed.context import ServiceContext  # noqa: E402
from samlfed.saml.signing import IdpSigner, encode_response  # noqa: E402

NOW = datetime.now(UTC)
WARM_UP = 20


def form_body(**overrides: object) -> bytes:
    fields = {"Action": "AssumeRoleWithSAML", "Version": "2011-06-15", "RoleArn": DEV_ROLE, "PrincipalArn": PROVIDER_ARN}
    return urlencode({**fields, "SAMLAssertion": response_b64(issue_instant=NOW, **overrides)}).encode()


class _Transport:
    """What uvicorn's protocol writes to: it keeps the bytes of the current answer."""

    def __init__(self) -> None:
        self.written: list[bytes] = []

    def get_extra_info(self, name: str, default: object = None) -> object:
        return {"sockname": ("127.0.0.1", 8080), "peername": ("127.0.0.1", 50000)}.get(name, default)

    def is_closing(self) -> bool:
        return False

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def close(self) -> None:
        pass


def over_uvicorn(app: object, body: bytes, protocol_class: type | None = None) -> Callable[[int], None]:
    """Runs `n` POST / requests through uvicorn's httptools protocol (or `protocol_class`, one like it) on one
    connection, each to its answer."""
    from uvicorn.config import Config
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    from uvicorn.server import ServerState

    request = (
        b"POST / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nContent-Type: application/x-www-form-urlencoded; charset=utf-8\r\n"
        + b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )
    loop = asyncio.new_event_loop()
    config = Config(app=app, log_level="warning", access_log=False, http="httptools", lifespan="off")
    config.load()
    state = ServerState()
    protocol = (protocol_class or HttpToolsProtocol)(config, state, {}, loop)
    transport = _Transport()
    protocol.connection_made(transport)  # type: ignore[arg-type]

    async def serve(n: int) -> None:
        for _ in range(n):
            transport.written.clear()
            protocol.data_received(request)  # starts the ASGI task, which answers
            await asyncio.gather(*state.tasks)
            answer = b"".join(transport.written)
            if b" 200 " not in answer[:16]:
                raise AssertionError(f"the app did not answer 200: {answer[:300]!r}")

    return lambda n: loop.run_until_complete(serve(n))


def _scratch_directory() -> Path:
    path = Path(tempfile.mkdtemp(prefix="samlfed-instructions-"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def counted_world(settings: Settings) -> ServiceContext:
    """The developer world whose sign-ins are counted, with the clocks of its time-based copies stopped.

    A server keeps the provider and role rows for identity_cache_seconds (1 s), writes RoleLastUsed once a minute
    and re-reads its key ring once a minute: at thousands of sign-ins a second, once in a great many. Under
    callgrind a sign-in takes some 50 ms of wall time, so the row copies ran out every ~20 counted requests and
    the store's reads (hundreds of thousands of instructions each) fell into the count, more or fewer from run to
    run as the machine's speed went. Stopped clocks keep the copies, the role's use and the ring read during the
    warm-up for the whole count: every counted request does the work of a sign-in served from them.
    """
    from service_world import developer_world

    ctx = developer_world(settings)
    ctx.clock = lambda: NOW + timedelta(seconds=5)  # every request redeems the same assertion in its window
    ctx.reads.clock = ctx.role_uses.clock = lambda: 0.0
    ctx.ring_refresh_seconds = math.inf
    return ctx


def samlfed_operation() -> Callable[[int], None]:
    from samlfed.server import BoundedHeadProtocol, build_server_app, configure_logging

    configure_logging()  # as `samlfed serve` does: each allowed AssumeRoleWithSAML writes an audit line
    settings = Settings(data_dir=_scratch_directory())
    ctx = counted_world(settings)
    return over_uvicorn(build_server_app(settings, ctx), form_body(), BoundedHeadProtocol)  # as `samlfed serve` runs it


def _reply_file() -> Path:
    """An answer of ~1.9 KB, as samlfed's, for the fixed-reply and floor apps."""
    reply = _scratch_directory() / "reply.xml"
    reply.write_bytes(b"<AssumeRoleWithSAMLResponse>" + b"x" * 1800 + b"</AssumeRoleWithSAMLResponse>")
    return reply


def fixed_reply_operation() -> Callable[[int], None]:
    os.environ["FIXED_REPLY"] = str(_reply_file())
    namespace: dict[str, object] = {}
    exec(http_assume.FIXED_APP, namespace)  # the very app the HTTP benchmark measures as its ceiling
    return over_uvicorn(namespace["app"], form_body())


def floor_reply_operation() -> Callable[[int], None]:
    from cryptography.hazmat.primitives.serialization import Encoding

    certificate = _scratch_directory() / "idp.pem"
    certificate.write_bytes(signer().certificate.public_bytes(Encoding.PEM))
    os.environ.update(FLOOR_REPLY=str(_reply_file()), FLOOR_CERT=str(certificate))
    return over_uvicorn(floor_app.create_app(), form_body())


def moto_operation() -> Callable[[int], None]:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.test import EnvironBuilder

    app = DomainDispatcherApplication(create_backend_app)
    body = form_body(roles=[f"{DEV_ROLE},{PROVIDER_ARN}"])

    statuses: list[str] = []

    def start_response(status: str, headers: object, exc_info: object = None) -> None:
        statuses.append(status)

    def run(n: int) -> None:
        for _ in range(n):
            environ = EnvironBuilder(
                method="POST", path="/", base_url="http://127.0.0.1:5000", data=body,
                content_type="application/x-www-form-urlencoded; charset=utf-8",
            ).get_environ()
            statuses.clear()
            answer = b"".join(app(environ, start_response))
            if not statuses[0].startswith("200") or b"AssumeRoleWithSAMLResult" not in answer:
                raise AssertionError(f"moto did not answer: {statuses} {answer[:300]!r}")

    return run


def validation_operation(name: str) -> Callable[[int], None]:
    idp = IdpSigner.generate("instructions IdP")
    b64 = encode_response(validate_bench.build_document(idp, NOW))
    build = {
        "validate": validate_bench.samlfed_contender,
        "signxml": validate_bench.signxml_contender,
        "python3-saml": validate_bench.python3_saml_contender,
        "floor": validate_bench.floor_contender,
    }[name]
    run_once = build(b64, idp, NOW)

    def run(n: int) -> None:
        for _ in range(n):
            run_once()

    return run


OPERATIONS: dict[str, Callable[[], Callable[[int], None]]] = {
    "samlfed": samlfed_operation,
    "fixed reply": fixed_reply_operation,
    "floor reply": floor_reply_operation,
    "moto": moto_operation,
    **{name: (lambda name=name: validation_operation(name)) for name in ("validate", "signxml", "python3-saml", "floor")},
}


def _instrument(switch: str) -> None:
    subprocess.run(["callgrind_control", "--instr=" + switch, str(os.getpid())], check=True, capture_output=True, timeout=60)


def inner(name: str, requests: int) -> None:
    """Inside valgrind: set up, warm up, count `requests` runs."""
    run = OPERATIONS[name]()
    run(WARM_UP)
    # Whether a full collection of the import-time heap (tens of millions of instructions with moto and boto
    # loaded) falls inside the counted runs depended on allocation counts: a change of a few allocations per
    # operation moved it in or out and the count by 20 %. Frozen, that heap is never traversed again.
    gc.collect()
    gc.freeze()
    _instrument("on")
    run(requests)
    _instrument("off")


def count(name: str, requests: int) -> float:
    """Instructions per operation, from a callgrind run of this script on `name`."""
    with tempfile.TemporaryDirectory() as work:
        out = Path(work) / "callgrind.out"
        command = [
            "valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}",
            sys.executable, __file__, "--inner", name, "--requests", str(requests),
        ]
        # One string hash seed for every run: with a random one, dict and set layouts (and so the instructions of
        # their look-ups) differ from run to run, by up to 0.7 % of a request.
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        done = subprocess.run(command, capture_output=True, text=True, timeout=1800, stdin=subprocess.DEVNULL, env=env)
        if done.returncode != 0:
            raise RuntimeError(f"{name} failed under callgrind:\n{done.stderr[-2000:]}")
        totals = [line.split()[1] for line in out.read_text().splitlines() if line.startswith("totals:")]
        if not totals or int(totals[0]) == 0:
            raise RuntimeError(f"callgrind counted nothing for {name}: is callgrind_control on the PATH?")
        return int(totals[0]) / requests


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=100, help="operations counted per contender")
    parser.add_argument("--only", nargs="+", choices=sorted(OPERATIONS), help="count these operations only")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--inner", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        inner(args.inner, args.requests)
        return 0
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (apt-get install valgrind)", file=sys.stderr)
        return 2
    names = args.only or list(OPERATIONS)
    counts = {}
    for name in names:  # python3-saml is slow under callgrind: a tenth of the runs is plenty for a stable count
        counts[name] = count(name, max(10, args.requests // 10) if name == "python3-saml" else args.requests)
    if args.json:
        print(json.dumps({"instructions_per_operation": {name: round(value) for name, value in counts.items()}}, indent=2))
        return 0
    print(f"CPU instructions per operation (callgrind, {args.requests} operations after a warm-up of {WARM_UP}); fewer is less work, not a time")
    for name, value in counts.items():
        print(f"  {name:14} {value:13,.0f}")

    def ratio(a: str, b: str, label: str) -> None:
        if a in counts and b in counts:
            print(f"  {label:50} {counts[b] / counts[a]:7.2f}")

    ratio("samlfed", "moto", "moto / samlfed (wall-clock target ≥ 10)")
    ratio("samlfed", "fixed reply", "fixed reply / samlfed (wall-clock target ≥ 0.25)")
    ratio("floor reply", "fixed reply", "fixed reply / floor reply")
    ratio("samlfed", "floor reply", "floor reply / samlfed")
    ratio("validate", "signxml", "signxml / validate (wall-clock target ≥ 2)")
    ratio("validate", "python3-saml", "python3-saml / validate (wall-clock target ≥ 5)")
    ratio("validate", "floor", "floor / validate")
    return 0


if __name__ == "__main__":
    sys.exit(main())
