"""The README's payments and events walkthrough, as written, against `wxgate run`: HTTP only."""

from __future__ import annotations

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
        r"<!-- walkthrough-pay:start -->\n```sh\n(.*?)```\n<!-- walkthrough-pay:end -->",
        readme,
        re.S,
    )
    assert block is not None, "README lost its payments and events walkthrough"
    return block.group(1)


def get(base: str, path: str) -> Any:
    request = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request, timeout=10) as resp:
        return json.loads(resp.read())


def test_readme_payments_and_events_walkthrough(tmp_path: Path) -> None:
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
            env={**env, "B": base},
            capture_output=True,
            text=True,
            timeout=110,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        output = result.stdout
        payments = get(base, "/api/v1/accounts/demo-service/payments")["items"]
        payer = get(base, "/api/v1/accounts/demo-service/followers/o789")
        messages = get(base, "/api/v1/accounts/demo-service/messages?limit=50")["items"]
        event = get(base, "/api/v1/accounts/demo-service/events/1")
    finally:
        assert procs.stop(proc) == 0, (tmp_path / "run.log").read_text()

    assert [(p["openid"], p["amount_total"]) for p in payments] == [("o789", 1999)]
    assert payer["last_interaction"] == "payment" and payer["window"]["open"] is True
    red_packs = [m for m in messages if m["type"] == "red_pack"]
    assert [(m["to"], m["status"]) for m in red_packs] == [("o789", "sent")]
    assert "subscription accounts cannot receive payments" in output
    assert "You are registered for Spring fair" in output
    assert "Your answers are saved" in output
    assert event["stats"] == {
        "registered": 1,
        "walk_ins": 0,
        "checked_in": 1,
        "reminders_queued": 1,
        "reminders_sent": 1,
        "welcomes_sent": 1,
        "surveys_queued": 1,
        "surveys_sent": 1,
        "surveys_answered": 1,
    }
