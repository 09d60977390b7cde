"""A fresh `pip install -e .` of the project prints no setuptools warning."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# A Python warning the build backend emits ("editable_wheel.py:354: InformationOnly: ...",
# which pip 24+ shows by default as "BuildBackendWarning: Editable installation. Please be
# careful with folders ..."): setuptools says so when its package discovery leaves the
# layout unclear (a flat layout without `package-dir`) and it falls back to a finder.
WARNING = re.compile(r"\.py:\d+: \w*(Warning|InformationOnly)\b|Please be careful with folders")


def _fresh_tree(target: Path) -> Path:
    """The files a source distribution holds, copied: no egg-info, no build left over."""
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    for name in ("gateway", "scheduler"):
        shutil.copytree(ROOT / name, target / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, target / name)
    return target


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_fresh_editable_install_prints_no_setuptools_warning(tmp_path: Path) -> None:
    tree = _fresh_tree(tmp_path / "src")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    # -v: pip shows the build backend's output (pip 24+ shows its warnings even without it;
    # its informational log lines, shown only with -v, are not warnings).
    result = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-v", "--no-deps", "-e", str(tree)],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    backend = [
        line.strip()
        for line in (result.stdout + result.stderr).splitlines()
        if "Location '" not in line  # pip's notes about this machine's index configuration
    ]
    assert [line for line in backend if WARNING.search(line)] == []
    # The editable install still finds the packages and their data files.
    probe = "from gateway.store import queries; print(len(queries.get('pay_list')) > 0)"
    check = subprocess.run(
        [str(venv / "bin" / "python"), "-c", probe],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert check.stdout.strip() == "True", check.stderr[-2000:]
