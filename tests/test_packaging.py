"""The wheel an operator installs holds everything samlfed reads at run time, and works without the source tree.

CI runs the suite on an editable install, which reads templates and migrations from src/: a file that a new
template or migration folder added without a package-data pattern would pass every other test and fail from the
wheel (found by a packaging probe)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "src" / "samlfed"
_SKIPPED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tree = tmp_path_factory.mktemp("tree")
    for name in ("pyproject.toml", "README.md", "LICENSE", "MANIFEST.in"):
        shutil.copy(ROOT / name, tree / name)
    shutil.copytree(ROOT / "src", tree / "src", ignore=_SKIPPED)
    out = tmp_path_factory.mktemp("dist")
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(tree)],
                           capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    [wheel_file] = out.glob("samlfed-*.whl")
    return wheel_file


def test_the_wheel_holds_every_file_of_the_package(wheel: Path) -> None:
    source = {path.relative_to(SOURCE.parent).as_posix() for path in SOURCE.rglob("*")
              if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"}
    names = zipfile.ZipFile(wheel).namelist()
    assert source - set(names) == set()
    assert {name for name in names if name.startswith("samlfed/")} == source  # and nothing else of ours
    licences = [name for name in names if name.endswith(".dist-info/licenses/LICENSE")]
    assert licences and "Apache License" in zipfile.ZipFile(wheel).read(licences[0]).decode()


_FROM_THE_WHEEL = """
import sys
from pathlib import Path
source, unpacked, data = sys.argv[1:4]
sys.path = [unpacked] + [p for p in sys.path if p and Path(p).resolve() != Path(source).resolve()]
import samlfed
assert Path(samlfed.__file__).is_relative_to(unpacked), samlfed.__file__
from samlfed.pages import Pages
for package in ("samlfed.console", "samlfed.idp"):
    env = Pages(package).env
    assert env.list_templates(), package
    for name in env.list_templates():
        env.get_template(name)
sys.argv = ["samlfed", "accounts", "create", "--data-dir", data, "--json"]
from samlfed.cli import main
main()
"""


def test_the_wheel_alone_migrates_a_store_and_loads_its_pages(wheel: Path, tmp_path: Path) -> None:
    """Run from the unpacked wheel, with src/ taken off the path: the migrations and templates come from the wheel."""
    unpacked = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(unpacked)
    done = subprocess.run([sys.executable, "-c", _FROM_THE_WHEEL, str(ROOT / "src"), str(unpacked), str(tmp_path / "data")],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert '"AccountId"' in done.stdout and (tmp_path / "data" / "samlfed.db").is_file()
