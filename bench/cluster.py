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
* CPU per poll, each divided by the polls: the workers' user + system time
  (client), split into the polls' own (``run_source`` on the event loop's
  thread, as each worker's ``/metrics`` counts it: the fetch, the state's
  queries, the pipeline) and the engine's (the rest: the queue, the keeper,
  heartbeats); and the PostgreSQL server's (all its processes, exited backends
  included), split by the connections' names into the queue's (procrastinate's
  pool), the state's (the polls' queries) and the rest (background processes:
  autovacuum, the WAL writer; connections that came and went). The target is
  6 ms for the engine's two together;
* how long the killed worker's sources took to be polled again, against the
  bound: the stall timeout, the keeper's 2 s tick and an interval.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import psycopg
import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from loopback_site import CA_BUNDLE, Response, running_site  # noqa: E402
from pgtools import fresh_schema  # noqa: E402
from servicetools import free_port, metric  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
KEEP_EVERY = 2.0  # the keeper's period (scraper.worker.KEEP_EVERY)
ROLES = ("worker jobs", "state")  # the connections' names: "scrape <role>, pid …"


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


@dataclass
class Backends:
    """The CPU of PostgreSQL's backends by the role their connection names,
    sampled now and then: a backend's share is its last sample less its first
    (zero for one that began after the first)."""

    url: str
    first: dict[int, float] = field(default_factory=dict)
    last: dict[int, tuple[str, float]] = field(default_factory=dict)

    def sample(self, *, start: bool = False) -> None:
        with psycopg.connect(self.url, autocommit=True) as db:
            rows = db.execute(
                "SELECT pid, application_name FROM pg_stat_activity WHERE backend_type = "
                "'client backend' AND pid <> pg_backend_pid()"
            ).fetchall()
        for pid, name in rows:
            role = re.sub(r"^scrape |, pid .*$", "", name or "")
            used = cpu_seconds(pid)
            if start:
                self.first[pid] = used
            self.last[pid] = (role, used)

    def by_role(self) -> dict[str, float]:
        found: dict[str, float] = defaultdict(float)
        for pid, (role, used) in self.last.items():
            found[role] += used - self.first.get(pid, 0.0)
        return dict(found)


def feed_url(i: int, hosts: int) -> str:
    """Source ``i``'s feed: on one of ``hosts`` hosts, each serving many feeds."""
    return f"http://h{i % hosts}.example.test/s{i}/rss.xml"


def write_config(  # noqa: PLR0917
    path: Path, url: str, site_url: str, sources: int, interval: float, hosts: int, port: int
) -> Path:
    """A worker's config: the same sources for all, its own port for ``/metrics``."""
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
        "service": {"enabled": True, "host": "127.0.0.1", "port": port},
        "sources": [
            {"name": f"s{i}", "url": feed_url(i, hosts), "interval": interval}
            for i in range(sources)
        ],
    }
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


FEED = """<?xml version="1.0"?><rss version="2.0"><channel><title>s{i}</title>
<link>http://example.test/s{i}/</link><description>bench</description></channel></rss>"""


@dataclass
class Worker:
    """``scrape worker`` as a child process, with its ``/metrics``."""

    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    @classmethod
    def start(cls, root: Path, n: int, make_config: Any) -> Worker:
        port = free_port()
        config = make_config(root / f"config-{n}.yaml", port)
        env = {k: v for k, v in os.environ.items() if not k.startswith("SCRAPER_")}
        env["PYTHONPATH"] = str(REPO)
        log = root / f"worker-{n}.log"
        proc = subprocess.Popen(
            [sys.executable, "-m", "scraper", "--config", str(config), "worker"],
            cwd=root,
            env=env,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        return cls(proc, port, log)

    def cpu(self) -> float:
        return cpu_seconds(self.proc.pid, children=True)

    def poll_cpu(self) -> float | None:
        """The CPU its polls took so far (``run_source``'s own, on its loop's
        thread); None when its ``/metrics`` does not answer."""
        try:
            url = f"http://127.0.0.1:{self.port}/metrics"
            with urllib.request.urlopen(url, timeout=10) as answer:
                text = answer.read().decode()
        except OSError:
            return None
        return metric(text, "scraper_worker_poll_cpu_seconds_total")

    def started(self) -> bool:
        return b"worker.started" in self.log.read_bytes()


@dataclass
class Cpu:
    """CPU seconds used in the measured time."""

    client: float = 0.0
    polls: float | None = 0.0  # of client: the polls' own (None: not known)
    server: float | None = None
    roles: dict[str, float] = field(default_factory=dict)

    def add_worker(self, cpu: float, polls: float | None) -> None:
        self.client += cpu
        self.polls = None if self.polls is None or polls is None else self.polls + polls


def polls_by_source(requests: list[tuple[float, Any]]) -> dict[str, list[float]]:
    found: dict[str, list[float]] = defaultdict(list)
    for at, request in requests:
        if request.path.endswith("/rss.xml"):
            found[request.path.split("/")[1]].append(at)
    return found


def worker_cpu(w: Worker) -> tuple[float, float | None]:
    return w.cpu(), w.poll_cpu()


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
    parser.add_argument("--dump", type=Path, help="write every feed request's time here (JSON)")
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

        def make_config(path: Path, port: int) -> Path:
            return write_config(path, url, site.url, args.sources, args.interval, args.hosts, port)

        workers = [Worker.start(root, n, make_config) for n in range(args.workers)]
        warm = 2 * args.interval + 10  # start-up, first polls spread out
        print(
            f"{args.workers} workers, {args.sources} sources every {args.interval:g}s; "
            f"warming up {warm:g}s, then measuring {args.seconds:g}s",
            flush=True,
        )
        time.sleep(warm)
        backends = Backends(url)
        backends.sample(start=True)
        begin = time.monotonic()
        firsts = {id(w): worker_cpu(w) for w in workers}
        pg0 = server_cpu(postmaster) if postmaster else None
        time.sleep(args.seconds / 2 + rng.uniform(-1, 1))
        cpu = Cpu()
        victim = workers.pop(rng.randrange(len(workers)))
        cpu.add_worker(*used(firsts[id(victim)], worker_cpu(victim)))
        backends.sample()  # the victim's backends, as they end
        killed_at = time.monotonic()
        victim.proc.kill()
        victim.proc.wait()
        workers.append(Worker.start(root, args.workers, make_config))
        # its start-up (imports, the archive read) is not the engine's: counted from ready
        while not workers[-1].started() and time.monotonic() < killed_at + 60:
            time.sleep(0.05)
        firsts[id(workers[-1])] = worker_cpu(workers[-1])
        time.sleep(max(0.0, begin + args.seconds - time.monotonic()))
        end = time.monotonic()
        for w in workers:
            cpu.add_worker(*used(firsts[id(w)], worker_cpu(w)))
        backends.sample()
        if postmaster and pg0 is not None:
            cpu.server = server_cpu(postmaster) - pg0
            cpu.roles = backends.by_role()
        for w in workers:
            w.proc.send_signal(signal.SIGTERM)
        codes = [w.proc.wait(timeout=30) for w in workers]
        if args.dump:
            dump = {"begin": begin, "end": end, "killed_at": killed_at}
            dump["polls"] = polls_by_source(list(site.requests))
            args.dump.write_text(json.dumps(dump), encoding="utf-8")
        report(args, list(site.requests), begin, end, killed_at, codes, cpu)
    return 0


def used(
    first: tuple[float, float | None], last: tuple[float, float | None]
) -> tuple[float, float | None]:
    """A worker's CPU between two samples: in all, and its polls' own."""
    polls = None if first[1] is None or last[1] is None else last[1] - first[1]
    return last[0] - first[0], polls


def report(  # noqa: PLR0917
    args: argparse.Namespace,
    requests: list[tuple[float, Any]],
    begin: float,
    end: float,
    killed_at: float,
    codes: list[int],
    cpu: Cpu,
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
    print_cpu(cpu, max(polls, 1))
    print(f"SIGTERM: exit codes {codes}")


def print_cpu(cpu: Cpu, polls: int) -> None:
    """CPU per poll, in ms: the client's and PostgreSQL's, each split."""

    def ms(seconds: float) -> float:
        return 1000 * seconds / polls

    engine = None if cpu.polls is None else cpu.client - cpu.polls
    line = f"client CPU per poll: {ms(cpu.client):.2f} ms"
    if engine is not None and cpu.polls is not None:
        line += f" = the polls' own {ms(cpu.polls):.2f} + engine {ms(engine):.2f}"
    print(line)
    if cpu.server is None:
        print("PostgreSQL CPU: not measured (give --pg-dir of a local server)")
        return
    queue = cpu.roles.get("worker jobs", 0.0)
    state = sum(v for k, v in cpu.roles.items() if k != "worker jobs")
    rest = cpu.server - queue - state
    print(
        f"PostgreSQL CPU per poll: {ms(cpu.server):.2f} ms = queue {ms(queue):.2f}"
        f" + state {ms(state):.2f} + background and unattributed {ms(rest):.2f}"
    )
    print(f"together: {ms(cpu.client + cpu.server):.2f} ms per poll")
    if engine is not None:
        print(
            f"engine: client {ms(engine):.2f} + queue {ms(queue):.2f}"
            f" = {ms(engine + queue):.2f} ms per poll (target <= 6;"
            f" with PostgreSQL's background and unattributed: {ms(engine + queue + rest):.2f})"
        )


if __name__ == "__main__":
    sys.exit(main())
