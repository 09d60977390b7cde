"""Soak: `wxgate serve`, one `python -m scheduler` and the mock platform under a steady mix of
signed callbacks and API sends for a long while (10 minutes by default, `make soak`), at half
the capacity: the mix is a quarter of the ingest benchmark's callback rate to a quarter of the
drain benchmark's send rate (bench/results/*.json), and its capacity on this machine is
probed first (30 s, 64 clients back to back); the soak then runs at half of what the probe
got. Explicit rates skip the probe.

Sampled every 10 s: resident memory and open descriptors of each process, Postgres
connections, the queue (deliveries not yet finished), callback latency and errors. Pass when,
after a one-minute warm-up, memory and descriptors stay flat, the connection count stays
within the pools, the queue stays bounded, nothing failed, every `success` is stored and every
accepted message is sent once. Figures go to stdout and bench/results/soak.json.

Run: `python -m bench.soak [--minutes M] [--callbacks-per-second N] [--sends-per-second N]`.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import random
import secrets
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from bench import common, world
from gateway.wechat import signature, xmlcodec

ACCOUNT = "soak"
PREFIX = "oSoak_"
SAMPLE_SECONDS = 10.0
WARMUP_SECONDS = 60.0
DEFAULT_INGEST_RPS = 1687.0  # bench/results/summary.md, when ingest.json is missing
DEFAULT_DRAIN_RPS = 644.0
GATEWAY_POOL = 10  # WXGATE_POOL_SIZE default, for the gateway and the worker alike


def _drain_flags() -> list[str]:
    """The worker flags the drain benchmark measured its capacity with (the account's call
    rate is the benchmark's to raise, not the product default of 50/s)."""
    try:
        data = json.loads((common.RESULTS / "drain.json").read_text())
        return [str(f) for f in data["worker_flags"]]
    except (OSError, ValueError, KeyError, TypeError):
        return ["--calls-per-second", "100000", "--concurrency", "64"]


def _benchmarked(name: str, default: float) -> float:
    path = common.RESULTS / f"{name}.json"
    try:
        data = json.loads(path.read_text())
        if name == "ingest":
            return float(data["median"]["gateway"]["rps"])
        return float(data["rate_msgs_per_s"])
    except (OSError, ValueError, KeyError, TypeError):
        return default


@dataclasses.dataclass
class Window:
    """What happened between two samples."""

    latencies: list[float] = dataclasses.field(default_factory=list)
    callbacks: int = 0
    callback_errors: int = 0
    sends: int = 0
    send_errors: int = 0
    dropped: int = 0  # the generator could not keep up (in-flight cap): not sent at all


@dataclasses.dataclass
class Load:
    window: Window = dataclasses.field(default_factory=Window)
    acknowledged: set[int] = dataclasses.field(default_factory=set)  # text MsgIds `success`
    accepted: dict[int, str] = dataclasses.field(default_factory=dict)  # message id -> kind
    errors: list[str] = dataclasses.field(default_factory=list)
    next_msg_id: int = 8_000_000_000_000
    next_send: int = 0


def _callback(load: Load, followers: int, rng: random.Random) -> tuple[dict[str, str], bytes, int]:
    """A signed push, 70% text (a new MsgId each), 10% subscribe, 10% CLICK, 10% LOCATION."""
    now = int(time.time())
    openid = world.openid(PREFIX, rng.randrange(followers))
    fields: dict[str, Any] = {
        "ToUserName": "gh_0123456789ab",
        "FromUserName": openid,
        "CreateTime": now,
    }
    kind = rng.randrange(10)
    msg_id = 0
    if kind < 7:
        load.next_msg_id += 1
        msg_id = load.next_msg_id
        fields |= {"MsgType": "text", "Content": f"soak {msg_id}", "MsgId": msg_id}
    elif kind == 7:
        fields |= {"MsgType": "event", "Event": "subscribe", "EventKey": ""}
    elif kind == 8:
        fields |= {"MsgType": "event", "Event": "CLICK", "EventKey": "menu_1"}
    else:
        fields |= {
            "MsgType": "event",
            "Event": "LOCATION",
            "Latitude": "23.137466",
            "Longitude": "113.352425",
            "Precision": "119.385040",
        }
    nonce = str(secrets.randbelow(10**9))
    query = {
        "signature": signature.sign(world.TOKEN, str(now), nonce),
        "timestamp": str(now),
        "nonce": nonce,
        "openid": openid,
    }
    return query, xmlcodec.build(fields).encode(), msg_id


def _send_body(n: int, followers: int, rng: random.Random) -> dict[str, Any]:
    openid = world.openid(PREFIX, rng.randrange(followers))
    if n % 2:
        data = {"thing1": {"value": f"soak-t{n}"}}
        return {"type": "template", "to": openid, "template": {"template_id": "t", "data": data}}
    return {"type": "customer_service", "to": openid, "content": world.text(f"soak-c{n}")}


async def _paced(rate: float, until: float, launch: Any) -> None:
    """Call `launch(n)` `rate` times a second (open loop: late ticks are caught up at once)."""
    if rate <= 0:
        return
    start = time.monotonic()
    n = 0
    while True:
        due = start + n / rate
        now = time.monotonic()
        if due >= until:
            return
        if due > now:
            await asyncio.sleep(due - now)
        launch(n)
        n += 1


async def _generate(
    gw: str,
    seconds: float,
    callback_rate: float,
    send_rate: float,
    followers: int,
    load: Load,
    *,
    users: int = 0,
) -> None:
    """Open loop at the two rates; or, with `users`, that many clients each sending the same
    mix back to back (closed loop: what the system can take)."""
    rng = random.Random(2026 + users)
    headers = {"Authorization": f"Bearer {common.API_TOKEN}"}
    tasks: set[asyncio.Task[None]] = set()
    max_in_flight = 512  # beyond this the system is saturated: count drops, not latency
    timeout = aiohttp.ClientTimeout(total=10)
    # A connection per request, as a push from the platform: the gateway's open descriptors
    # then measure the gateway (a leak), not how large this client's keep-alive pool grew.
    connector = aiohttp.TCPConnector(limit=max_in_flight, force_close=True)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def callback() -> None:
            query, body, msg_id = _callback(load, followers, rng)
            started = time.monotonic()
            try:
                async with session.post(f"{gw}/wechat/{ACCOUNT}", params=query, data=body) as r:
                    text = await r.text()
                    ok = r.status == 200 and text == "success"
                    if not ok:
                        load.errors.append(f"callback {r.status} {text[:80]}")
            except (aiohttp.ClientError, TimeoutError) as exc:
                ok = False
                load.errors.append(f"callback {type(exc).__name__}")
            load.window.latencies.append(time.monotonic() - started)
            load.window.callbacks += 1
            if ok and msg_id:
                load.acknowledged.add(msg_id)
            elif not ok:
                load.window.callback_errors += 1

        async def send() -> None:
            load.next_send += 1
            body = _send_body(load.next_send, followers, rng)
            try:
                async with session.post(
                    f"{gw}/api/v1/accounts/{ACCOUNT}/messages", json=body, headers=headers
                ) as r:
                    answer = await r.json(content_type=None)
                    if r.status == 202:
                        load.accepted[int(answer["id"])] = body["type"]
                    else:
                        load.errors.append(f"send {r.status} {str(answer)[:80]}")
                        load.window.send_errors += 1
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                load.errors.append(f"send {type(exc).__name__}")
                load.window.send_errors += 1
            load.window.sends += 1

        def start(coro: Any) -> None:
            if len(tasks) >= max_in_flight:  # open loop: count what could not be sent
                load.window.dropped += 1
                coro.close()
                return
            task = asyncio.get_running_loop().create_task(coro)
            tasks.add(task)
            task.add_done_callback(tasks.discard)

        until = time.monotonic() + seconds
        if users:
            share = callback_rate / (callback_rate + send_rate)

            async def user() -> None:
                while time.monotonic() < until:
                    await (callback() if rng.random() < share else send())

            await asyncio.gather(*(user() for _ in range(users)))
            return
        await asyncio.gather(
            _paced(callback_rate, until, lambda n: start(callback())),
            _paced(send_rate, until, lambda n: start(send())),
        )
        if tasks:
            await asyncio.wait(tasks, timeout=30)


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


async def _db_sample(db: common.Database) -> tuple[int, int]:
    conn = await asyncpg.connect(db.admin_url)
    try:
        connections = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid()"
        )
        queue = await conn.fetchval(
            "SELECT count(*) FROM deliveries WHERE status IN ('queued', 'held', 'sending')"
        )
    finally:
        await conn.close()
    return int(connections), int(queue)


async def _sampler(
    db: common.Database,
    pids: dict[str, int],
    load: Load,
    seconds: float,
    samples: list[dict[str, Any]],
) -> None:
    started = time.monotonic()
    while True:
        await asyncio.sleep(SAMPLE_SECONDS)
        elapsed = time.monotonic() - started
        window, load.window = load.window, Window()
        connections, queue = await _db_sample(db)
        rss = {name: round(_rss_mib(pid), 1) for name, pid in pids.items()}
        fds = {name: _fds(pid) for name, pid in pids.items()}
        sample: dict[str, Any] = {
            "t": round(elapsed),
            "rss_mib": rss,
            "fds": fds,
            "pg_connections": connections,
            "queue": queue,
            "callbacks_per_s": round(window.callbacks / SAMPLE_SECONDS, 1),
            "sends_per_s": round(window.sends / SAMPLE_SECONDS, 1),
            "p50_ms": round(common.percentile(window.latencies, 50) * 1000, 1),
            "p99_ms": round(common.percentile(window.latencies, 99) * 1000, 1),
            "errors": window.callback_errors + window.send_errors,
            "dropped": window.dropped,
            "load_average": round(os.getloadavg()[0], 2),
        }
        samples.append(sample)
        common.log(
            f"t={sample['t']:>4}s rss gateway {rss['gateway']} MiB, worker {rss['worker']} MiB;"
            f" fds {fds['gateway']}/{fds['worker']}; pg {connections}; queue {queue};"
            f" {sample['callbacks_per_s']} cb/s p99 {sample['p99_ms']} ms;"
            f" {sample['sends_per_s']} sends/s; errors {sample['errors']};"
            f" load {sample['load_average']}"
        )
        if elapsed >= seconds:
            return


async def _settle(db: common.Database, load: Load, within: float) -> dict[str, Any]:
    """After the load: wait (bounded) for the queue to empty, then check what was promised."""
    conn = await asyncpg.connect(db.admin_url)
    try:
        ids = list(load.accepted)
        deadline = time.monotonic() + within
        while True:
            unfinished = int(
                await conn.fetchval(
                    "SELECT count(*) FROM messages WHERE id = any($1::bigint[])"
                    " AND status NOT IN ('sent', 'delivered', 'failed', 'expired', 'canceled')",
                    ids,
                )
            )
            if unfinished == 0 or time.monotonic() > deadline:
                break
            await asyncio.sleep(1)
        statuses = {
            r["status"]: int(r["n"])
            for r in await conn.fetch(
                "SELECT status, count(*) AS n FROM messages WHERE id = any($1::bigint[])"
                " GROUP BY status",
                ids,
            )
        }
        acknowledged = sorted(load.acknowledged)
        stored = 0
        for start in range(0, len(acknowledged), 50_000):
            chunk = [str(m) for m in acknowledged[start : start + 50_000]]
            stored += int(
                await conn.fetchval(
                    "SELECT count(*) FROM inbound_events WHERE account_id = $1"
                    " AND msg_id = any($2::text[])",
                    ACCOUNT,
                    chunk,
                )
            )
    finally:
        await conn.close()
    return {
        "unfinished_after_load": unfinished,
        "message_statuses": statuses,
        "text_callbacks_acknowledged": len(acknowledged),
        "text_callbacks_stored": stored,
    }


async def _sent_once(mock: str, accepted: int) -> dict[str, int]:
    async with aiohttp.ClientSession() as session:
        log = world.SentLog(session, mock, ACCOUNT)
        await log.fetch()
    keys = [e[4] or "" for e in log.entries if e[2] == 0 and e[1].endswith("/custom/send")]
    return {
        "custom_sends": len(keys),
        "custom_repeats": len(keys) - len(set(keys)),
        "platform_calls": len(log.entries),
        "accepted_messages": accepted,
    }


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else float("nan")


def _steady(summary: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The first steady minute (after the warm-up) and the last minute of load."""
    loaded = [s for s in summary["samples"] if s["t"] <= summary["minutes"] * 60 + 1]
    steady = [s for s in loaded if s["t"] >= WARMUP_SECONDS] or loaded
    return steady[:6], steady[-6:]


def _middle(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The minute in the middle of the load."""
    loaded = [s for s in summary["samples"] if s["t"] <= summary["minutes"] * 60 + 1]
    half = len(loaded) // 2
    return loaded[max(0, half - 3) : half + 3]


def _verdict(summary: dict[str, Any]) -> dict[str, bool]:
    samples = summary["samples"]
    early, late = _steady(summary)
    checks: dict[str, bool] = {}
    # The mock keeps every call and push in memory by design: its figures are reported only.
    for name in ("gateway", "worker", "mock"):
        before = _mean([s["rss_mib"][name] for s in early])
        after = _mean([s["rss_mib"][name] for s in late])
        summary["rss_growth_mib"][name] = round(after - before, 1)
        fds_before = _mean([s["fds"][name] for s in early])
        fds_after = _mean([s["fds"][name] for s in late])
        summary["fds_growth"][name] = round(fds_after - fds_before, 1)
        if name == "mock":
            continue
        checks[f"{name} memory flat (< 10% or 16 MiB)"] = after - before < max(16.0, 0.1 * before)
        # Descriptors are a floor (what stays open) plus the requests in flight, which a stall
        # of the machine piles up for a moment; connection pools (the worker's to WeChat)
        # fill up during the first minutes. A leak raises the floor through the second half.
        floor_mid = min(s["fds"][name] for s in _middle(summary))
        floor_end = min(s["fds"][name] for s in late)
        summary["fds_floor_growth_second_half"][name] = floor_end - floor_mid
        checks[f"{name} descriptors flat (floor over the second half, < 10% or 8)"] = (
            floor_end - floor_mid < max(8.0, 0.1 * floor_mid)
        )
    checks["Postgres connections within the pools"] = (
        max(s["pg_connections"] for s in samples) <= 2 * GATEWAY_POOL + 4
    )
    bound = max(1000, int(30 * summary["send_rate"]))
    checks[f"queue bounded (< {bound})"] = max(s["queue"] for s in samples) < bound
    checks["no errors"] = summary["errors"] == 0
    checks["generator kept the rate (nothing dropped)"] = summary["dropped"] == 0
    settled = summary["settled"]
    checks["every `success` stored"] = (
        settled["text_callbacks_stored"] == settled["text_callbacks_acknowledged"]
    )
    checks["every accepted message sent"] = set(settled["message_statuses"]) <= {
        "sent",
        "delivered",
    }
    checks["no customer-service message sent twice"] = summary["sent"]["custom_repeats"] == 0
    return checks


PROBE_SECONDS = 30.0
PROBE_USERS = 64


async def _probe(
    gw: str, db: common.Database, mix: tuple[float, float], followers: int, load: Load
) -> dict[str, Any]:
    """What this machine takes of the mix right now: `PROBE_USERS` clients back to back."""
    probe = Load(next_msg_id=load.next_msg_id + 10**9, next_send=10**9)
    await _generate(gw, PROBE_SECONDS, *mix, followers, probe, users=PROBE_USERS)
    load.acknowledged |= probe.acknowledged  # checked at the end with the rest
    load.accepted |= probe.accepted
    window = probe.window
    # Let the worker catch up before the soak starts (bounded).
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if not (await _db_sample(db))[1]:
            break
        await asyncio.sleep(1)
    return {
        "seconds": PROBE_SECONDS,
        "users": PROBE_USERS,
        "callbacks_per_s": round(window.callbacks / PROBE_SECONDS, 1),
        "sends_per_s": round(window.sends / PROBE_SECONDS, 1),
        "p99_ms": round(common.percentile(window.latencies, 99) * 1000, 1),
        "errors": len(probe.errors),
    }


def run(
    minutes: float = 10.0,
    callback_rate: float | None = None,
    send_rate: float | None = None,
    followers: int = 5000,
) -> dict[str, Any]:
    """Without rates: probe the mix's capacity on this machine first, then soak at half."""
    ingest = _benchmarked("ingest", DEFAULT_INGEST_RPS)
    drain = _benchmarked("drain", DEFAULT_DRAIN_RPS)
    # The mix: a quarter of each benchmark's rate (half of the machine, were costs additive).
    mix = (round(ingest / 4), round(drain / 4))
    seconds = minutes * 60
    flags = _drain_flags()
    common.log(
        f"soak: {minutes} min; benchmarks: ingest {ingest:.0f} callbacks/s, drain {drain:.0f}"
        f" msg/s; mix {mix[0]} callbacks : {mix[1]} sends; worker {' '.join(flags)}"
    )
    started_at = time.time()
    with common.postgres() as server, common.database(server, "soak") as db:
        mock_port, gw_port = common.free_port(), common.free_port()
        mock, gw = f"http://127.0.0.1:{mock_port}", f"http://127.0.0.1:{gw_port}"

        async def seed() -> None:
            conn = await asyncpg.connect(db.admin_url)
            try:
                await world.sql_account(conn, ACCOUNT)
                await world.sql_followers(conn, ACCOUNT, PREFIX, followers)
            finally:
                await conn.close()
            async with aiohttp.ClientSession() as session:
                await world.register_mock(
                    session, mock, ACCOUNT, f"{gw}/wechat/{ACCOUNT}", "service"
                )
                await world.mock_followers(session, mock, ACCOUNT, PREFIX, followers)

        with (
            common.process(
                common.mock_args(mock_port), common.env(), f"{mock}/_mock/accounts", "mock"
            ) as mock_proc,
            common.process(
                common.serve_args(),
                common.gateway_env(
                    db, gw_port, WXGATE_WECHAT_API_BASE=mock, WXGATE_HOST="127.0.0.1"
                ),
                f"{gw}/healthz",
                "gateway",
            ) as gw_proc,
            common.process(
                common.worker_args(*flags),
                common.env(
                    WXGATE_DATABASE_URL=db.url,
                    WXGATE_WECHAT_API_BASE=mock,
                    WXGATE_LOG_LEVEL="WARNING",
                ),
                common.listeners(db, 1),
                "worker",
            ) as worker_proc,
        ):
            asyncio.run(seed())
            pids = {"gateway": gw_proc.pid, "worker": worker_proc.pid, "mock": mock_proc.pid}
            load = Load()
            samples: list[dict[str, Any]] = []
            probe: dict[str, Any] | None = None
            if callback_rate is None or send_rate is None:
                probe = asyncio.run(_probe(gw, db, mix, followers, load))
                callback_rate = round(probe["callbacks_per_s"] / 2)
                send_rate = round(probe["sends_per_s"] / 2)
                common.log(
                    f"probe: {probe['callbacks_per_s']} callbacks/s + {probe['sends_per_s']}"
                    f" sends/s with {PROBE_USERS} clients back to back; soaking at half:"
                    f" {callback_rate} + {send_rate}"
                )

            async def soak(callbacks: float, sends: float) -> dict[str, Any]:
                sampler = asyncio.create_task(_sampler(db, pids, load, seconds, samples))
                await _generate(gw, seconds, callbacks, sends, followers, load)
                await sampler
                return await _settle(db, load, within=120)

            settled = asyncio.run(soak(callback_rate, send_rate))
            sent = asyncio.run(_sent_once(mock, len(load.accepted)))
            alive = all(p.poll() is None for p in (mock_proc, gw_proc, worker_proc))
        summary: dict[str, Any] = {
            "benchmark": "soak",
            "minutes": minutes,
            "callback_rate": callback_rate,
            "send_rate": send_rate,
            "capacity": {"ingest_rps": ingest, "drain_msgs_per_s": drain, "probe": probe},
            "followers": followers,
            "worker_flags": flags,
            "postgres": server.flavour,
            "machine": common.machine(),
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started_at)),
            "samples": samples,
            "callbacks": sum(s["callbacks_per_s"] for s in samples) * SAMPLE_SECONDS,
            "accepted": load.accepted,
            "errors": len(load.errors),
            "error_kinds": sorted(set(load.errors))[:20],
            "dropped": sum(s["dropped"] for s in samples),
            "settled": settled,
            "sent": sent,
            "processes_alive": alive,
            "rss_growth_mib": {},
            "fds_growth": {},
            "fds_floor_growth_second_half": {},
        }
    checks = _verdict(summary)
    checks["no process died"] = alive
    summary["checks"] = checks
    summary["passed"] = all(checks.values())
    summary["accepted"] = len(load.accepted)
    return summary


def report(summary: dict[str, Any]) -> str:
    samples = summary["samples"]
    early, late = _steady(summary)
    loaded = early + late

    def span(key: str, name: str) -> str:
        before = _mean([s[key][name] for s in early])
        after = _mean([s[key][name] for s in late])
        return f"{name} {before:.1f} -> {after:.1f}"

    achieved_cb = _mean(
        [s["callbacks_per_s"] for s in samples if s["t"] <= summary["minutes"] * 60]
    )
    achieved_send = _mean([s["sends_per_s"] for s in samples if s["t"] <= summary["minutes"] * 60])
    probe = summary["capacity"]["probe"]
    lines = []
    if probe:
        lines.append(
            f"Capacity probe ({probe['seconds']:.0f} s, {probe['users']} clients back to back):"
            f" {probe['callbacks_per_s']} callbacks/s + {probe['sends_per_s']} sends/s,"
            f" p99 {probe['p99_ms']} ms, errors {probe['errors']}"
        )
    lines += [
        f"Soak: {summary['minutes']} min, asked {summary['callback_rate']} callbacks/s +"
        f" {summary['send_rate']} sends/s, got {achieved_cb:.0f} + {achieved_send:.0f}"
        f" ({summary['postgres']}; load average"
        f" {min(s['load_average'] for s in samples)}..{max(s['load_average'] for s in samples)}"
        f" on {summary['machine']['cpus']} CPUs).",
        f"callbacks {int(summary['callbacks']):,}, sends accepted {summary['accepted']:,},"
        f" errors {summary['errors']} {summary['error_kinds']},"
        f" not sent by the generator (saturated) {summary['dropped']:,}",
        "RSS MiB, first steady minute -> last minute: "
        + ", ".join(span("rss_mib", n) for n in ("gateway", "worker", "mock")),
        "open fds, same minutes: "
        + ", ".join(span("fds", n) for n in ("gateway", "worker", "mock")),
        f"Postgres connections {min(s['pg_connections'] for s in samples)}"
        f"..{max(s['pg_connections'] for s in samples)};"
        f" queue max {max(s['queue'] for s in samples)}, at end {samples[-1]['queue']}",
        f"callback latency: median of 10 s p50s {common.median([s['p50_ms'] for s in loaded])} ms,"
        f" worst 10 s p99 {max(s['p99_ms'] for s in samples)} ms",
        f"`success` stored: {summary['settled']['text_callbacks_stored']:,}"
        f" / {summary['settled']['text_callbacks_acknowledged']:,};"
        f" messages {summary['settled']['message_statuses']};"
        f" customer-service repeats {summary['sent']['custom_repeats']}",
    ]
    for check, ok in summary["checks"].items():
        lines.append(f"  [{'ok' if ok else 'FAIL'}] {check}")
    lines.append("PASSED" if summary["passed"] else "FAILED")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--callbacks-per-second", type=float)
    parser.add_argument("--sends-per-second", type=float)
    parser.add_argument("--followers", type=int, default=5000)
    args = parser.parse_args(argv)
    summary = run(args.minutes, args.callbacks_per_second, args.sends_per_second, args.followers)
    path = common.save("soak", summary)
    print(report(summary))
    print(f"figures: {path.relative_to(common.ROOT)}")
    return 0 if summary["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
