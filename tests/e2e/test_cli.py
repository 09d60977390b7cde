from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from tests.e2e import procs


def test_serve_without_database_url_fails_with_one_line() -> None:
    result = subprocess.run(
        [procs.WXGATE, "serve"], env=procs.clean_env(), capture_output=True, timeout=60, check=False
    )
    assert result.returncode == 2
    lines = result.stderr.decode().strip().splitlines()
    assert lines == [lines[0]] and "WXGATE_DATABASE_URL" in lines[0]


def test_invalid_setting_fails_with_one_line() -> None:
    result = subprocess.run(
        [procs.WXGATE, "migrate"],
        env=procs.clean_env(WXGATE_PORT="not-a-port"),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.decode().strip() == (
        "wxgate: invalid setting WXGATE_PORT: Input should be a valid integer, "
        "unable to parse string as an integer"
    )


def test_serve_with_unreachable_database_fails_with_one_line() -> None:
    result = subprocess.run(
        [procs.WXGATE, "serve"],
        env=procs.clean_env(WXGATE_DATABASE_URL="postgresql://nobody@127.0.0.1:1/none"),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    err = result.stderr.decode().strip()
    assert err.startswith("wxgate: database unreachable") and "\n" not in err


def test_run_starts_embedded_postgres_and_stops_it_on_ctrl_c(tmp_path: Path) -> None:
    port = procs.free_port()
    env = procs.clean_env(WXGATE_PORT=str(port), WXGATE_DATA_DIR=str(tmp_path / "data"))
    proc = procs.start(["run"], env, tmp_path / "run.log")
    try:
        body = procs.wait_http(f"http://127.0.0.1:{port}/readyz", timeout=90)
        assert json.loads(body) == {"status": "ready", "database": "connected"}
        assert procs.postgres_processes(tmp_path / "data" / "pg")
        # The console is served by the same process; without a session it is the sign-in.
        page = procs.wait_http(f"http://127.0.0.1:{port}/console/", timeout=10).decode()
        assert 'name="token"' in page and 'action="/console/sign-in"' in page
    finally:
        code = procs.stop(proc)
    assert code == 0, (tmp_path / "run.log").read_text()
    deadline = time.monotonic() + 10
    while procs.postgres_processes(tmp_path / "data" / "pg") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert procs.postgres_processes(tmp_path / "data" / "pg") == []
    assert "API token:" in (tmp_path / "run.log").read_text()
    assert f"console:      http://127.0.0.1:{port}/console/" in (tmp_path / "run.log").read_text()
