"""Shared pieces of the benchmarks: a private Postgres, subprocesses on free ports, wrk."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
RESULTS = ROOT / "bench" / "results"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def env(**extra: str) -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if not k.startswith("WXGATE_")}
    out.setdefault("XDG_RUNTIME_DIR", "/tmp")
    out.update(extra)
    return out


@contextlib.contextmanager
def postgres() -> Iterator[str]:
    """WXGATE_BENCH_DATABASE_URL, or a private embedded Postgres removed afterwards."""
    url = os.environ.get("WXGATE_BENCH_DATABASE_URL")
    if url:
        yield url
        return
    sys.path.insert(0, str(ROOT))
    from gateway.store import embedded

    with tempfile.TemporaryDirectory(prefix="wxgate-bench-") as tmp:
        pg = embedded.EmbeddedPostgres(Path(tmp))
        try:
            yield pg.start()
        finally:
            pg.stop()


@contextlib.contextmanager
def process(
    args: list[str], environ: dict[str, str], ready_url: str
) -> Iterator[subprocess.Popen[bytes]]:
    """Start a server, wait until `ready_url` answers (bounded), stop it afterwards."""
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(args, env=environ, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                log.seek(0)
                raise RuntimeError(
                    f"{args[0]} exited: {log.read()[-2000:].decode(errors='replace')}"
                )
            try:
                urllib.request.urlopen(ready_url, timeout=1).close()
                break
            except urllib.error.HTTPError:
                break  # answering at all is enough
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{ready_url} not ready") from None
                time.sleep(0.2)
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()


@dataclass
class WrkResult:
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int  # socket errors + non-2xx answers

    def row(self) -> dict[str, float | int]:
        return {
            "requests": self.requests,
            "rps": round(self.rps),
            "p50_ms": round(self.p50_ms, 2),
            "p99_ms": round(self.p99_ms, 2),
            "errors": self.errors,
        }


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(
    url: str, seconds: int, connections: int, script: Path, environ: dict[str, str]
) -> WrkResult:
    """Run wrk (one thread: the load generator gets one of the two cores at most)."""
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "--timeout",
            "5s",
            "-s",
            str(script),
            url,
        ],
        env=environ,
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
    ).stdout
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    errors = 0
    if m := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        errors += int(m.group(1))
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out):
        errors += sum(int(x) for x in m.groups())
    return WrkResult(requests, rps, p50, p99, errors)


def median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]
