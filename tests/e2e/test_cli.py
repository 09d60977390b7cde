from __future__ import annotations

import json
import socket
import subprocess
import time
from pathlib import Path

from tests import pg
from tests.e2e import procs

pytestmark = pg.OWN_SERVER  # see tests/pg.py


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


def test_run_with_a_database_url_and_no_api_base_refuses_with_one_line() -> None:
    # A production database must never be put behind the mock (real secrets copied into it,
    # sends reported `sent` that never reach WeChat): no API base and no --mock is refused
    # before anything is started or connected to.
    result = subprocess.run(
        [procs.WXGATE, "run"],
        env=procs.clean_env(WXGATE_DATABASE_URL="postgresql://nobody@127.0.0.1:1/none"),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    lines = result.stderr.decode().strip().splitlines()
    assert len(lines) == 1, lines
    assert "WXGATE_WECHAT_API_BASE" in lines[0] and "--mock" in lines[0]


def test_run_mock_and_an_api_base_exclude_each_other() -> None:
    result = subprocess.run(
        [procs.WXGATE, "run", "--mock"],
        env=procs.clean_env(WXGATE_WECHAT_API_BASE="https://api.weixin.qq.com"),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    lines = result.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and "--mock" in lines[0] and "WXGATE_WECHAT_API_BASE" in lines[0]


async def test_run_mounts_the_mock_on_a_database_url_only_with_mock(
    db_url: str, tmp_path: Path
) -> None:
    port = procs.free_port()
    env = procs.clean_env(WXGATE_PORT=str(port), WXGATE_DATABASE_URL=db_url)
    proc = procs.start(["run", "--mock"], env, tmp_path / "run.log")
    try:
        body = procs.wait_http(f"http://127.0.0.1:{port}/mock-wechat/_mock/accounts", timeout=60)
        app_ids = {a["app_id"] for a in json.loads(body)["accounts"]}
        assert "wx00000000000000d1" in app_ids  # the demo account, registered with the mock
    finally:
        code = procs.stop(proc)
    log = (tmp_path / "run.log").read_text()
    assert code == 0, log
    assert "mock WeChat:" in log and "--mock" in log


def test_a_ctrl_c_as_soon_as_the_port_listens_is_a_clean_stop(tmp_path: Path) -> None:
    """The signal handlers are set before the port listens: a Ctrl-C while the worker is
    still starting stops `wxgate run` cleanly (before: a KeyboardInterrupt, exit 130)."""
    port = procs.free_port()
    env = procs.clean_env(WXGATE_PORT=str(port), WXGATE_DATA_DIR=str(tmp_path / "data"))
    proc = procs.start(["run"], env, tmp_path / "run.log")
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.05).close()
                break
            except OSError:
                time.sleep(0.005)
    finally:
        code = procs.stop(proc)
    assert code == 0, (tmp_path / "run.log").read_text()
    deadline = time.monotonic() + 10
    while procs.postgres_processes(tmp_path / "data" / "pg") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert procs.postgres_processes(tmp_path / "data" / "pg") == []
