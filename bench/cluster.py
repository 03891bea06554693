#!/usr/bin/env python3
"""The cluster benchmark (issue 14): ``scrape worker`` processes sharing many
loopback sources on one PostgreSQL.

    eval "$(.ci/postgres start)"                  # or any server: --pg-url, --pg-dir
    .venv/bin/python bench/cluster.py             # 3 workers, 1,000 sources at 10 s, 3 min
    .venv/bin/python bench/cluster.py --sources 200 --seconds 60

The sources' feeds are on ``--hosts`` hosts of the loopback site
(``tests/loopback_site.py``, through it as a proxy); each answers after
``--latency`` (so that polls are under way when a worker dies) with an ETag, then
304s. With few hosts the poll's own HTTP work is small and the engine's cost
(queue, state) shows; ``--hosts 1000`` shows the HTTP client's, whose connection
pool is searched linearly on every request. Halfway through, one worker is killed (SIGKILL)
and another started in its place. It prints:

* polls per source per interval (the target is one: the interval's ±10% jitter
  and the job queue's lateness move it a little), and the ticks missed (a gap
  over 1.5 intervals) and doubled (two polls within half an interval), apart for
  the sources the kill touched;
* engine CPU per poll: the workers' user + system time (client), and the
  PostgreSQL server's (all its processes, exited backends included), each
  divided by the polls; the target is 6 ms for the two together;
* how long the killed worker's sources took to be polled again, against the
  bound: the stall timeout, the keeper's 5 s tick and an interval.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from bisect import bisect_left
from collections import defaultdict
from itertools import pairwise
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from loopback_site import CA_BUNDLE, Response, running_site  # noqa: E402
from pgtools import fresh_schema  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
KEEP_EVERY = 5.0


class TimedRequests(list[Any]):
    """The site's request log, each request with the time it came (monotonic)."""

    def append(self, request: Any) -> None:
        super().append((time.monotonic(), request))


def cpu_seconds(pid: int, *, children: bool = False) -> float:
    """A process's user + system CPU (and its reaped children's, if asked)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    used = int(fields[11]) + int(fields[12])
    if children:
        used += int(fields[13]) + int(fields[14])
    return used / TICK


def server_cpu(postmaster: int) -> float:
    """PostgreSQL's CPU: the postmaster with its exited children, and the live ones."""
    total = cpu_seconds(postmaster, children=True)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == postmaster:
                total += cpu_seconds(int(entry.name))
    return total


def postmaster_pid(pg_dir: str | None) -> int | None:
    if not pg_dir:
        return None
    try:
        return int((Path(pg_dir) / "data" / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError):
        return None


def feed_url(i: int, hosts: int) -> str:
    """Source ``i``'s feed: on one of ``hosts`` hosts, each serving many feeds."""
    return f"http://h{i % hosts}.example.test/s{i}/rss.xml"


def write_config(  # noqa: PLR0917
    root: Path, url: str, site_url: str, sources: int, interval: float, hosts: int
) -> Path:
    doc = {
        "archive_dir": "archive",
        "state_url": url,
        "allow_private_networks": True,
        "proxy": site_url,
        "extract_workers": 0,
        "http": {
            "timeout": "10s",
            "retries": 0,
            "ca_bundle": str(CA_BUNDLE),
            "max_connections": 128,
        },
        "cluster": {"stall_timeout": "10s"},
        "sources": [
            {"name": f"s{i}", "url": feed_url(i, hosts), "interval": interval}
            for i in range(sources)
        ],
    }
    path = root / "config.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


FEED = """<?xml version="1.0"?><rss version="2.0"><channel><title>s{i}</title>
<link>http://example.test/s{i}/</link><description>bench</description></channel></rss>"""


def start_worker(config: Path, root: Path, n: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCRAPER_")}
    env["PYTHONPATH"] = str(REPO)
    log = (root / f"worker-{n}.log").open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "scraper", "--config", str(config), "worker"],
        cwd=root,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def polls_by_source(requests: list[tuple[float, Any]]) -> dict[str, list[float]]:
    found: dict[str, list[float]] = defaultdict(list)
    for at, request in requests:
        if request.path.endswith("/rss.xml"):
            found[request.path.split("/")[1]].append(at)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--sources", type=int, default=1000)
    parser.add_argument("--interval", type=float, default=10.0)
    parser.add_argument("--seconds", type=float, default=180.0, help="measured time")
    parser.add_argument("--latency", type=float, default=0.3, help="each feed answer's delay")
    parser.add_argument(
        "--hosts",
        type=int,
        default=10,
        help="hosts the feeds are spread over (the HTTP client's pool costs grow with them)",
    )
    parser.add_argument("--pg-url", default=os.environ.get("SCRAPER_TEST_PG_URL"))
    parser.add_argument("--pg-dir", default=os.environ.get("SCRAPER_TEST_PG_DIR"))
    parser.add_argument("--seed", type=int, default=14)
    args = parser.parse_args()
    if not args.pg_url:
        parser.error('no PostgreSQL: eval "$(.ci/postgres start)", or give --pg-url')
    os.environ["SCRAPER_TEST_PG_URL"] = args.pg_url
    rng = random.Random(args.seed)
    postmaster = postmaster_pid(args.pg_dir)

    with (
        tempfile.TemporaryDirectory(prefix="bench-cluster-") as tmp,
        running_site() as site,
        fresh_schema() as url,
    ):
        root = Path(tmp)
        site.requests = TimedRequests()
        for i in range(args.sources):
            site.add(
                feed_url(i, args.hosts),
                Response(
                    FEED.format(i=i),
                    content_type="application/rss+xml",
                    headers={"ETag": f'"s{i}"'},
                    delay=args.latency,
                ),
            )
        config = write_config(root, url, site.url, args.sources, args.interval, args.hosts)
        workers = [start_worker(config, root, n) for n in range(args.workers)]
        warm = 2 * args.interval + 10  # start-up, first polls spread out
        print(
            f"{args.workers} workers, {args.sources} sources every {args.interval:g}s; "
            f"warming up {warm:g}s, then measuring {args.seconds:g}s",
            flush=True,
        )
        time.sleep(warm)
        begin = time.monotonic()
        cpu0 = sum(cpu_seconds(w.pid, children=True) for w in workers)
        pg0 = server_cpu(postmaster) if postmaster else None
        time.sleep(args.seconds / 2 + rng.uniform(-1, 1))
        victim = workers.pop(rng.randrange(len(workers)))
        cpu_dead = cpu_seconds(victim.pid, children=True)
        killed_at = time.monotonic()
        victim.kill()
        victim.wait()
        workers.append(start_worker(config, root, args.workers))
        # its start-up (imports, the archive read) is not the engine's: counted from ready
        log = root / f"worker-{args.workers}.log"
        while b"worker.started" not in log.read_bytes() and time.monotonic() < killed_at + 60:
            time.sleep(0.05)
        cpu0 += cpu_seconds(workers[-1].pid, children=True)
        time.sleep(max(0.0, begin + args.seconds - time.monotonic()))
        end = time.monotonic()
        cpu1 = sum(cpu_seconds(w.pid, children=True) for w in workers) + cpu_dead
        pg1 = server_cpu(postmaster) if postmaster else None
        for w in workers:
            w.send_signal(signal.SIGTERM)
        codes = [w.wait(timeout=30) for w in workers]
        report(
            args,
            list(site.requests),
            begin,
            end,
            killed_at,
            cpu1 - cpu0,
            None if pg0 is None or pg1 is None else pg1 - pg0,
            codes,
        )
    return 0


def report(  # noqa: PLR0917
    args: argparse.Namespace,
    requests: list[tuple[float, Any]],
    begin: float,
    end: float,
    killed_at: float,
    client_cpu: float,
    server_cpu_used: float | None,
    codes: list[int],
) -> None:
    interval = args.interval
    by_source = polls_by_source(requests)
    measured = {name: [t for t in times if begin <= t < end] for name, times in by_source.items()}
    polls = sum(len(times) for times in measured.values())
    expected = args.sources * (end - begin) / interval
    missed = doubled = 0
    touched: dict[str, float] = {}  # source → its gap across the kill
    for name in (f"s{i}" for i in range(args.sources)):
        times = by_source.get(name, [])
        for before, after in pairwise(times):
            if after < begin or before >= end:
                continue
            gap = after - before
            # longer than the jitter and the queue's lateness allow: its poll was
            # under way on the killed worker, and waited for the stall timeout
            if before <= killed_at < after and gap > 1.1 * interval + 1.0:
                touched[name] = after - killed_at
            elif gap > 1.5 * interval:
                missed += 1
            elif gap < 0.5 * interval:
                doubled += 1
        at = bisect_left(times, killed_at)
        if at == len(times):
            touched[name] = float("inf")
    bound = 10.0 + KEEP_EVERY + interval * 1.1
    print(
        f"measured {end - begin:.0f}s: {polls} polls of {args.sources} sources "
        f"({polls / (end - begin):.1f}/s)"
    )
    print(f"polls per source per interval: {polls / expected:.3f} (target 1)")
    print(f"ticks missed: {missed}, doubled: {doubled} (outside the kill)")
    if touched:
        worst = max(touched.values())
        print(
            f"killed worker: {len(touched)} sources waited; resumed within {worst:.1f}s "
            f"of the kill (bound: stall 10s + tick {KEEP_EVERY:g}s + interval "
            f"{interval * 1.1:g}s = {bound:.1f}s)"
        )
    else:
        print("killed worker: no source's poll waited (none was under way on it)")
    per_poll = 1000 * client_cpu / max(polls, 1)
    line = f"engine CPU per poll: client {per_poll:.2f} ms"
    if server_cpu_used is not None:
        pg = 1000 * server_cpu_used / max(polls, 1)
        line += f", PostgreSQL {pg:.2f} ms, together {per_poll + pg:.2f} ms (target <= 6)"
    else:
        line += " (PostgreSQL's not measured: give --pg-dir of a local server)"
    print(line)
    print(f"SIGTERM: exit codes {codes}")


if __name__ == "__main__":
    sys.exit(main())
