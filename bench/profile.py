"""py-spy samples of a benchmarked process, summarised: where its CPU time goes, by package
(inclusive) and by function (self time). The raw collapsed stacks stay in bench/results/."""

from __future__ import annotations

import contextlib
import re
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench import common

RATE = 100  # samples per second
# Inclusive buckets, first match wins (checked innermost frame outwards would double count:
# a frame counts for every bucket on its stack, once per sample).
AREAS = {
    "aiohttp": re.compile(r"\(aiohttp/"),
    "asyncpg": re.compile(r"\(asyncpg/"),
    "yarl/multidict": re.compile(r"\((yarl|multidict)/"),
    "json": re.compile(r"\(json/"),
    "lxml/xml": re.compile(r"lxml|\(xml/"),
    "logging": re.compile(r"\(logging/"),
    "prometheus_client": re.compile(r"\(prometheus_client/"),
    "pydantic": re.compile(r"\(pydantic"),
    "gateway.domain": re.compile(r"\(gateway/domain/"),
    "gateway.store": re.compile(r"\(gateway/store/"),
    "gateway.api": re.compile(r"\(gateway/api/"),
    "gateway.wechat": re.compile(r"\(gateway/wechat/"),
    "scheduler": re.compile(r"\(scheduler/"),
    "asyncio": re.compile(r"\(asyncio/"),
}


class Recorder:
    def __init__(self, pid: int, seconds: int, name: str) -> None:
        common.RESULTS.mkdir(parents=True, exist_ok=True)
        self.path = common.RESULTS / f"profile-{name}.txt"
        self.seconds = seconds
        self.proc = subprocess.Popen(
            [
                str(common.BIN / "py-spy"),
                "record",
                "-p",
                str(pid),
                "-d",
                str(seconds),
                "-r",
                str(RATE),
                "-f",
                "raw",
                "--nonblocking",
                "-o",
                str(self.path),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def finish(self) -> None:
        try:
            self.proc.wait(self.seconds + 30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)

    def summary(self) -> dict[str, Any]:
        return summarise(self.path, self.seconds)


@contextlib.contextmanager
def record(pid: int, seconds: int, name: str) -> Iterator[Recorder]:
    """Sample `pid` for `seconds` (py-spy, non-blocking) while the body runs."""
    recorder = Recorder(pid, seconds, name)
    try:
        yield recorder
    finally:
        recorder.finish()


def summarise(path: Path, seconds: int, top: int = 12) -> dict[str, Any]:
    if not path.exists():
        return {"error": "py-spy wrote nothing (is ptrace allowed?)"}
    samples = 0
    areas: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        count = int(count_text)
        samples += count
        frames = stack.split(";")
        for area, pattern in AREAS.items():
            if any(pattern.search(f) for f in frames):
                areas[area] += count
        leaves[_short(frames[-1])] += count
    if not samples:
        return {"samples": 0}
    pct = {k: round(100 * v / samples, 1) for k, v in areas.most_common()}
    return {
        "file": str(path.relative_to(common.ROOT)),
        "busy_pct_of_one_core": round(100 * samples / (seconds * RATE), 1),
        "inclusive_pct": pct,
        "self_top": [[k, round(100 * v / samples, 1)] for k, v in leaves.most_common(top)],
    }


def _short(frame: str) -> str:
    return re.sub(r"\s+", " ", frame).strip()
