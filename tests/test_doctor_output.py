"""`samlfed doctor` when its report cannot be written: the exit code still tells the verdict or the failure,
and no traceback reaches the user. Runs the installed command in its own process (a pipe and a full device
cannot be simulated inside pytest's captured stdout). A full disk is Linux's /dev/full, which every CI machine has."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from servers import SAMLFED


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sample")
    subprocess.run([SAMLFED, "sample", "--out", str(out)], check=True, capture_output=True, timeout=60)
    return out


def doctor_into_closed_pipe(sample: Path, response: str, *options: str) -> subprocess.CompletedProcess[bytes]:
    """Runs the doctor with stdout on a pipe whose reader is already gone: its first write fails with EPIPE."""
    reader, writer = os.pipe()
    os.close(reader)
    try:
        return subprocess.run(
            [SAMLFED, "doctor", str(sample / response), "--metadata", str(sample / "idp-metadata.xml"), *options],
            stdout=writer, stderr=subprocess.PIPE, timeout=60, check=False,
        )
    finally:
        os.close(writer)


@pytest.mark.parametrize("options", [(), ("--json",)], ids=["text", "json"])
@pytest.mark.parametrize(("response", "verdict"), [("response.b64", 0), ("tampered.b64", 1)])
def test_a_reader_that_stops_early_does_not_change_the_verdict(sample: Path, options: tuple[str, ...], response: str, verdict: int) -> None:
    done = doctor_into_closed_pipe(sample, response, *options)
    assert done.returncode == verdict
    assert done.stderr == b""


@pytest.mark.parametrize("options", [(), ("--json",)], ids=["text", "json"])
def test_a_report_that_cannot_be_written_is_an_error_not_a_verdict(sample: Path, options: tuple[str, ...]) -> None:
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [SAMLFED, "doctor", str(sample / "response.b64"), "--metadata", str(sample / "idp-metadata.xml"), *options],
            stdout=full, stderr=subprocess.PIPE, text=True, timeout=60, check=False,
        )
    assert done.returncode == 2
    assert done.stderr.strip() == "samlfed: cannot write the report: No space left on device"
