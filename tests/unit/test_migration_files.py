"""Landed migrations are never edited, removed or renumbered: tests/data/migrations.sha256
lists each landed file with the sha256 of its bytes; a new file takes a number above them."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SQL = ROOT / "sql"
LANDED = ROOT / "tests" / "data" / "migrations.sha256"
_LINE = re.compile(r"^([0-9a-f]{64})  (\d{4})_([a-z0-9_]+\.sql)$")


def landed() -> dict[str, str]:
    """{file name: sha256} from the checked-in list (sha256sum's output format)."""
    found: dict[str, str] = {}
    for line in LANDED.read_text(encoding="utf-8").splitlines():
        match = _LINE.match(line)
        assert match, f"bad line in {LANDED.name}: {line!r}"
        name = f"{match.group(2)}_{match.group(3)}"
        assert name not in found, f"{name} listed twice"
        found[name] = match.group(1)
    return found


def number(name: str) -> int:
    return int(name[:4])


def test_the_list_names_each_number_once() -> None:
    numbers = [number(name) for name in landed()]
    assert len(numbers) == len(set(numbers))
    assert numbers == sorted(numbers)


@pytest.mark.parametrize("name", sorted(landed()))
def test_a_landed_migration_is_unchanged(name: str) -> None:
    path = SQL / name
    assert path.is_file(), f"landed migration {name} was removed or renamed"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == landed()[name], (
        f"landed migration {name} was edited; add a new migration instead"
    )


def test_a_new_migration_takes_a_number_above_the_landed_ones() -> None:
    listed = landed()
    highest = max(number(name) for name in listed)
    taken = {number(name) for name in listed}
    for path in sorted(SQL.glob("*.sql")):
        if path.name in listed:
            continue
        assert number(path.name) > highest, f"{path.name} is not above {highest:04d}"
        assert number(path.name) not in taken, f"{path.name} reuses a number"
        taken.add(number(path.name))
