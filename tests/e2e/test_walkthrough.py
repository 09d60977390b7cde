"""The README walkthrough, as written, against `wxgate run` in a subprocess: HTTP only."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

from tests import pg
from tests.e2e import procs

pytestmark = pg.OWN_SERVER  # see tests/pg.py

TOKEN = "demo-token"


def walkthrough() -> str:
    readme = (procs.ROOT / "README.md").read_text()
    block = re.search(
        r"<!-- walkthrough:start -->\n```sh\n(.*?)```\n<!-- walkthrough:end -->", readme, re.S
    )
    assert block is not None, "README lost its walkthrough block"
    return block.group(1)


def get(base: str, path: str) -> Any:
    request = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request, timeout=10) as resp:
        return json.loads(resp.read())


def messages(base: str, account: str) -> list[dict[str, Any]]:
    page = get(base, f"/api/v1/accounts/{account}/messages?limit=50")
    ids = sorted(m["id"] for m in page["items"])
    return [get(base, f"/api/v1/accounts/{account}/messages/{i}") for i in ids]


def wxgate(args: list[str], env: dict[str, str]) -> Any:
    result = subprocess.run(
        [procs.WXGATE, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def simulate(base: str, env: dict[str, str]) -> dict[str, Any]:
    """`wxgate simulate` through the mock, and straight at the gateway with a known token."""
    through_mock = wxgate(["simulate", "demo-service", "o789", "subscribe", "--url", base], env)
    account = {
        "id": "direct-demo",
        "kind": "service",
        "app_id": "wx00000000000000e1",
        "app_secret": "s",
        "token": "directtoken",
    }
    request = urllib.request.Request(
        base + "/api/v1/accounts",
        data=json.dumps(account).encode(),
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
    )
    urllib.request.urlopen(request, timeout=10).close()
    direct = wxgate(
        [
            "simulate",
            "direct-demo",
            "o790",
            "text",
            "--direct",
            "--token",
            "directtoken",
            "--url",
            base,
        ],
        env,
    )
    return {
        "through_mock": through_mock,
        "direct": direct,
        "o789": get(base, "/api/v1/accounts/demo-service/followers/o789"),
        "o790": get(base, "/api/v1/accounts/direct-demo/followers/o790"),
    }


def test_readme_walkthrough_runs_as_written(tmp_path: Path) -> None:
    port = procs.free_port()
    env = procs.clean_env(
        WXGATE_PORT=str(port), WXGATE_DATA_DIR=str(tmp_path / "data"), WXGATE_API_TOKEN=TOKEN
    )
    proc = procs.start(["run"], env, tmp_path / "run.log")
    base = f"http://127.0.0.1:{port}"
    try:
        procs.wait_http(f"{base}/readyz", timeout=90)
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", walkthrough()],
            env={**env, "B": base, "WX": procs.WXGATE, "LISTEN_PORT": str(procs.free_port())},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        output = result.stdout
        service = messages(base, "demo-service")
        subscription = messages(base, "demo-subscription")
        simulated = simulate(base, env)
        menu = get(base, "/api/v1/accounts/demo-service/menu")
        clicker = get(base, "/api/v1/accounts/demo-service/followers/o321")
    finally:
        assert procs.stop(proc) == 0, (tmp_path / "run.log").read_text()

    welcome, shipped = service
    assert welcome["to"] == "o123" and welcome["status"] == "sent"
    assert shipped["to"] == "o456" and shipped["status"] == "sent"
    held = [h for h in shipped["history"] if h["status"] == "held"]
    assert held and held[0]["reason"] == "window_closed"
    assert "subscription accounts cannot send template messages" in output
    # Step 5: the follower's message reached `wxgate listen`, signature verified.
    assert 'message.text o123 "hello webhooks" evt_i' in output
    # Step 6: passive replies from the rules, as the mock received and decrypted them.
    assert '"Content": "Welcome to the fair!"' in output
    assert '"Content": "We are open 9:00-18:00"' in output
    assert '"capability_not_available"' in output
    first, second = subscription
    assert first["status"] in ("sending", "sent", "delivered")
    assert (second["status"], second["reason"]) == ("held", "daily_mass_used")
    release = dt.datetime.fromisoformat(second["release_at"])
    shanghai = release.astimezone(dt.timezone(dt.timedelta(hours=8)))
    assert (shanghai.hour, shanghai.minute, shanghai.second) == (0, 0, 0)
    created = dt.datetime.fromisoformat(second["created_at"]).astimezone(shanghai.tzinfo)
    assert shanghai.date() == created.date() + dt.timedelta(days=1)
    assert simulated["through_mock"]["delivered"] is True
    assert simulated["o789"]["subscribed"] is True and simulated["o789"]["window"]["open"] is True
    assert simulated["direct"] == {"status": 200, "reply": "success"}
    assert simulated["o790"]["window"]["open"] is True
    # Step 6: the menu applied by the worker, on the mock's menu/get; the click opened the
    # window of a follower whose window had closed.
    assert (menu["state"], menu["errcode"], menu["version"]) == ("applied", None, 1)
    assert menu["applied_at"] is not None
    assert '"state": "pending"' in output and '"state": "applied"' in output
    assert '"key": "TODAY"' in output and '"menuid": 1' in output
    assert clicker["window"]["open"] is True
