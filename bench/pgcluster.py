"""A private PostgreSQL 15 cluster (Debian's packages) with pg_stat_statements, run as an
unprivileged system user on 127.0.0.1 and a free port, removed afterwards.

The embedded wheel's server has no pg_stat_statements; the drain benchmark counts statements
per delivered message with it, and every benchmark runs on the same server flavour so that
their figures compare. When the packages are missing, `common.postgres()` falls back to the
embedded server and statement counts are reported as not measured.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

PG_BIN = Path(os.environ.get("WXGATE_BENCH_PG_BIN", "/usr/lib/postgresql/15/bin"))
USER = "wxbench"
# Sized for a 2-core development box with an SSD; everything else is PostgreSQL's default
# (fsync and synchronous_commit on: an acknowledged callback must survive a crash).
# random_page_cost 1.1 is the usual SSD setting: the default 4.0 models spinning disks and
# makes the planner prefer a sequential scan to the primary-key lookups of a batch update.
SETTINGS = {
    "random_page_cost": "1.1",
    "effective_cache_size": "1GB",
    "shared_preload_libraries": "pg_stat_statements",
    "pg_stat_statements.track": "top",
    "pg_stat_statements.max": "5000",
    "max_connections": "200",
    "shared_buffers": "256MB",
    "max_wal_size": "4GB",
    "log_min_messages": "warning",
}


def available() -> bool:
    lib = PG_BIN.parent / "lib" / "pg_stat_statements.so"
    return (PG_BIN / "initdb").exists() and lib.exists() and os.geteuid() == 0


def _ensure_user() -> None:
    try:
        pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", USER],
            check=True,
            capture_output=True,
        )


def _as_user(args: list[str], **kwargs: object) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(  # type: ignore[call-overload, no-any-return]
        ["runuser", "-u", USER, "--", *args], check=True, capture_output=True, **kwargs
    )


def postmaster_pid(url: str) -> int | None:
    """The pid of the running cluster behind `url` (one this module started), if any."""
    return _started.get(url)


_started: dict[str, int] = {}


@contextlib.contextmanager
def cluster(port: int) -> Iterator[str]:
    """Start the cluster; yields the superuser URL (user `postgres`, trust on 127.0.0.1)."""
    _ensure_user()
    tmp = tempfile.mkdtemp(prefix="wxgate-bench-pg15-")
    shutil.chown(tmp, USER)
    data = Path(tmp) / "data"
    options = " ".join(
        [f"-h 127.0.0.1 -p {port} -k {tmp}"] + [f"-c {k}={v}" for k, v in SETTINGS.items()]
    )
    started = False
    try:
        initdb = [str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"]
        _as_user([*initdb, "-E", "UTF8"], timeout=120)
        _as_user(
            [
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(Path(tmp) / "server.log"),
                "-o",
                options,
                "-w",
                "-t",
                "60",
                "start",
            ],
            timeout=90,
        )
        started = True
        url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        _started[url] = int((data / "postmaster.pid").read_text().split()[0])
        try:
            yield url
        finally:
            _started.pop(url, None)
    finally:
        if started:
            with contextlib.suppress(subprocess.SubprocessError):
                _as_user(
                    [str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
                    timeout=60,
                )
        shutil.rmtree(tmp, ignore_errors=True)
