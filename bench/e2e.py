#!/usr/bin/env python3
"""The end-to-end benchmark (issue 6): the real ``scrape`` against many loopback hosts.

    .venv/bin/python bench/e2e.py                   # every scenario at full scale
    .venv/bin/python bench/e2e.py --small           # the same, small and quick
    .venv/bin/python bench/e2e.py --scenario 1 --scenario 2 --feeds 200 --hosts 10

Each host is its own address (127.0.1.N), each answer waits ``--latency``; see
``e2e_site.py`` and, for the pages, ``e2e_content.py``. Every scenario runs
``scrape`` as a child process and prints its wall time, CPU time (user + system,
pool workers included), peak RSS (the process tree, sampled, and the largest
process), the requests the site counted, and the ratio of each to its bound or
target. Scenarios 2, 3 and 4 start from the archive scenario 1 made (made first,
at low latency and unreported, when scenario 1 is not run).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

import e2e_measure
from e2e_content import Content
from e2e_site import Layout, Site

from scraper.archive import read_from_url

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PACKAGES = ("httpx", "selectolax", "feedparser", "nh3", "pydantic", "trafilatura")
ZAOBAO_EVERY = 5  # every fifth host serves Zaobao-layout pages


_CPROFILE = """if True:
    import cProfile, os, runpy, sys, time
    out = sys.argv.pop(1)
    sys.argv[0] = "scraper"
    # E2E_CPROFILE=thread: the event loop's thread alone (threads' CPU not charged to it)
    timer = time.thread_time if os.environ.get("E2E_CPROFILE") == "thread" else time.process_time
    profile = cProfile.Profile(timer)
    try:
        profile.runcall(runpy.run_module, "scraper", run_name="__main__")
    except SystemExit:
        pass
    finally:
        profile.dump_stats(out)
"""


@dataclass
class Result:
    scenario: str
    measured: e2e_measure.Measured
    requests: dict[str, int]
    checks: list[str] = field(default_factory=list)  # what went wrong; empty: all held
    lines: list[str] = field(default_factory=list)
    row: dict[str, str] = field(default_factory=dict)  # for the table in docs/benchmarks.md


@dataclass
class World:
    """One site and one project folder, shared by the scenarios of a run."""

    site: Site
    root: Path
    feeds: int
    per_host: int
    log: Path
    warm: bool = False
    profile: Path | None = None  # a folder: each run under pyinstrument, its report there
    workers: int | None = None  # extract_workers in the config; None: the product's default
    runs: int = 0

    @property
    def archive(self) -> Path:
        return self.root / "archive"

    def config(self, feeds: range, *, interval: str = "10m", **extra: Any) -> Path:
        sources = []
        for feed in feeds:
            source: dict[str, Any] = {
                "name": f"feed-{feed:04d}",
                "url": self.site.feed_url(feed),
                "interval": interval,
            }
            if self.site.content.is_zaobao(feed):
                source["rule"] = "zaobao"
            sources.append(source)
        doc = {
            "archive_dir": "archive",
            "state_path": "state/scraper.sqlite3",
            "allow_private_networks": True,
            "http": {
                "max_per_host": self.per_host,
                "max_connections": self.per_host * self.site.layout.hosts,
                "timeout": "30s",
            },
            "sources": sources,
            **extra,
        }
        if self.workers is not None:
            doc["extract_workers"] = self.workers
        path = self.root / "config.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
        return path

    def scrape(self, *args: str) -> list[str]:
        command = ["-c", str(self.root / "config.yaml"), *args]
        if self.profile is None:
            return [str(BIN / "scrape"), *command]
        self.runs += 1
        report = self.profile / f"run{self.runs}-{'-'.join(args)}.txt"
        profiler = ["-m", "pyinstrument", "-r", "text", "-o", str(report)]
        if os.environ.get("E2E_CPROFILE"):  # CPU time, not wall time, per function
            profiler = ["-c", _CPROFILE, str(report.with_suffix(".prof"))]
        if os.environ.get("E2E_PYSPY"):  # sampled, every process, idle time too
            # E2E_PYSPY=cpu: threads on a CPU only (no --idle), for where the CPU goes
            idle = [] if os.environ["E2E_PYSPY"] == "cpu" else ["--idle"]
            spy = [str(BIN / "py-spy"), "record", "--subprocesses", *idle, "--format", "raw"]
            spy += ["-o", str(report.with_suffix(".raw")), "--"]
            return [*spy, str(BIN / "scrape"), *command]
        module = [] if profiler[0] == "-c" else ["-m", "scraper"]
        return [sys.executable, *profiler, *module, *command]


SQL_COUNTER = Path(__file__).resolve().parent / "e2e_sqlite_counter"  # its sitecustomize.py
SQL_COUNTS = Path(tempfile.gettempdir()) / f"e2e-sql-counts-{os.getpid()}.jsonl"


def child_env() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k.lower() not in {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}
        and not k.startswith("SCRAPER_")
    }
    # every scrape counts its SQLite transactions into SQL_COUNTS (sql_counts())
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [env.get("PYTHONPATH"), str(SQL_COUNTER)]))
    env["E2E_SQL_COUNTS"] = str(SQL_COUNTS)
    return env


def sql_counts() -> tuple[int, int]:
    """(write, read) SQLite transactions of the scrapes since the last call."""
    if not SQL_COUNTS.exists():
        return 0, 0
    rows = [json.loads(line) for line in SQL_COUNTS.read_text("utf-8").splitlines() if line]
    SQL_COUNTS.unlink()
    return sum(r["write"] for r in rows), sum(r["read"] for r in rows)


def archived(archive: Path) -> list[str]:
    """The ``from:`` URL of every post."""
    return [read_from_url(p) or "" for p in sorted((archive / "_posts").glob("*.md"))]


def bound(site: Site, per_host: int) -> float:
    """The slowest host's requests × latency ÷ per-host concurrency."""
    return max(site.per_host.values(), default=0) * site.latency / per_host


def _ratio(value: float, limit: float) -> str:
    return f"{value / limit:.2f}×" if limit else "-"


def _describe(m: e2e_measure.Measured) -> str:
    return (
        f"wall {m.wall:.2f} s, CPU {m.cpu:.2f} s (user {m.user:.2f}, sys {m.sys:.2f}; "
        f"{m.cpu / m.wall:.2f} cores), peak RSS {m.tree_peak_mb:.0f} MB "
        f"(largest process {m.maxrss_mb:.0f} MB); CPU of the main process about "
        f"{m.main_cpu:.2f} s (sampled), of its workers {m.cpu - m.main_cpu:.2f} s"
    )


# -- scenarios ------------------------------------------------------------------


def cold_run(world: World, *, name: str = "1 cold run") -> Result:
    """Scenario 1: every feed new, every article fetched."""
    site, layout = world.site, world.site.layout
    site.mode, layout.grow_every = "validators", 0.0
    world.config(range(world.feeds))
    site.reset_counts()
    site_cpu = time.process_time()
    sql_counts()
    m = e2e_measure.run([*world.scrape("--once")], log=world.log, env=child_env())
    site_cpu = time.process_time() - site_cpu
    writes, reads = sql_counts()
    requests = dict(site.counts)
    articles = world.feeds * layout.items
    expected = {site.article_url(f, i) for f in range(world.feeds) for i in range(layout.items)}
    urls = archived(world.archive)
    checks = []
    if m.status != 0:
        checks.append(f"exit status {m.status} (see {world.log})")
    if sorted(urls) != sorted(expected):
        checks.append(
            f"{len(urls)} posts ({len(set(urls))} distinct URLs) for {len(expected)} articles"
        )
    if requests.get("article") != articles or requests.get("feed") != world.feeds:
        checks.append(f"requests {requests}, expected {world.feeds} feeds and {articles} articles")
    floor = bound(site, world.per_host)
    per_article = m.cpu / articles * 1000
    world.warm = not checks
    return Result(
        name,
        m,
        requests,
        checks,
        [
            f"{world.feeds} feeds on {layout.hosts} hosts, {layout.items} items each, "
            f"{site.latency * 1000:.0f} ms latency, {world.per_host} per host",
            f"{_describe(m)}; the site's CPU meanwhile {site_cpu:.2f} s",
            f"wall {_ratio(m.wall, floor)} the bound {floor:.2f} s (target ≤ 1.3×); "
            f"CPU {per_article:.2f} ms per article ({_ratio(per_article, 2.0)} the 2 ms target); "
            f"peak RSS {_ratio(m.tree_peak_mb, 300)} the 300 MB target",
            f"SQLite: {writes} write transactions ({writes / articles:.2f} per article, "
            f"target ≤ 1), {reads} read ones",
        ],
        {
            "wall": f"{m.wall:.1f} s",
            "bound": f"{floor:.1f} s",
            "ratio": f"{m.wall / floor:.2f}× (≤ 1.3×)" if floor else "-",
            "cpu": f"{m.cpu:.1f} s = {per_article:.2f} ms/article (≤ 2 ms)",
            "rss": f"{m.tree_peak_mb:.0f} MB (≤ 300)",
            "sql": f"{writes / articles:.2f} writes/article (≤ 1)",
        },
    )


def ensure_warm(world: World) -> None:
    if world.warm:
        return
    latency = world.site.latency
    world.site.latency = min(latency, 0.01)
    try:
        result = cold_run(world, name="(making the warm archive)")
    finally:
        world.site.latency = latency
    if result.checks:
        raise SystemExit(f"could not make the warm archive: {result.checks}")


def fixed_cost(world: World) -> e2e_measure.Measured:
    """A run of one source on the same archive and state: start-up, archive scan.
    (One, not none: a run with nothing to poll skips the scan and the event loop.)"""
    world.config(range(1))
    return e2e_measure.run(world.scrape("--once"), log=world.log, env=child_env())


def warm_run(world: World, mode: str) -> Result:
    """Scenarios 2 (``validators``: every feed 304) and 3 (``plain``: 200, same items)."""
    ensure_warm(world)
    site = world.site
    site.mode, site.layout.grow_every = mode, 0.0
    base = fixed_cost(world)
    world.config(range(world.feeds))
    site.reset_counts()
    base_writes, base_reads = sql_counts()  # the one-source run's
    m = e2e_measure.run(world.scrape("--once"), log=world.log, env=child_env())
    writes, reads = sql_counts()
    requests = dict(site.counts)
    checks = [] if m.status == 0 else [f"exit status {m.status} (see {world.log})"]
    kind, target = ("feed_304", 0.2) if mode == "validators" else ("feed", 1.0)
    if requests.get(kind) != world.feeds or sum(requests.values()) != world.feeds:
        checks.append(f"requests {requests}, expected {world.feeds} of {kind} only")
    per_feed = (m.cpu - base.cpu) / max(1, world.feeds - 1) * 1000
    whole = m.cpu / world.feeds * 1000
    name = "2 warm, all 304" if mode == "validators" else "3 warm, 200 without validators"
    return Result(
        name,
        m,
        requests,
        checks,
        [
            _describe(m),
            f"the same run with one source: CPU {base.cpu:.2f} s, wall {base.wall:.2f} s",
            f"CPU per feed {per_feed:.3f} ms beyond that ({_ratio(per_feed, target)} the "
            f"{target:g} ms target); {whole:.3f} ms with it",
            f"SQLite: {writes} write transactions ({writes / world.feeds:.2f} per feed, "
            f"target ≤ 1), {reads} read ones (the one-source run: {base_writes}, {base_reads})",
        ],
        {
            "wall": f"{m.wall:.1f} s",
            "cpu": f"{per_feed:.3f} ms/feed (≤ {target:g} ms); {whole:.2f} with start-up",
            "rss": f"{m.tree_peak_mb:.0f} MB",
            "sql": f"{writes / world.feeds:.2f} writes/feed (≤ 1)",
        },
    )


def start_up(runs: int) -> Result:
    """Scenario 5: ``scrape --once`` with nothing to do."""
    with tempfile.TemporaryDirectory(prefix="e2e-start-") as tmp:
        root = Path(tmp)
        (root / "config.yaml").write_text(
            "archive_dir: archive\nstate_path: state/scraper.sqlite3\nsources: []\n"
        )
        cmd = [str(BIN / "scrape"), "-c", str(root / "config.yaml"), "--once"]
        runs_measured = [
            e2e_measure.run(cmd, log=root / "log", env=child_env()) for _ in range(runs)
        ]
    walls = sorted(m.wall for m in runs_measured)
    median = runs_measured[len(runs_measured) // 2]
    checks = [f"exit status {m.status}" for m in runs_measured if m.status != 0][:1]
    return Result(
        "5 start-up",
        median,
        {},
        checks,
        [
            f"{runs} runs: wall min {walls[0]:.3f} s, median {walls[len(walls) // 2]:.3f} s, "
            f"max {walls[-1]:.3f} s ({_ratio(walls[len(walls) // 2], 0.5)} the 0.5 s target); "
            f"CPU median {sorted(m.cpu for m in runs_measured)[len(walls) // 2]:.3f} s"
        ],
        {"wall": f"{walls[len(walls) // 2]:.3f} s (≤ 0.5 s)", "cpu": f"{median.cpu:.3f} s"},
    )


def versus_naive(content: Content, feeds: int, hosts: int, latency: float, log: Path) -> Result:
    """Scenario 6: ours and a naive pipeline, cold, on the same small world."""
    layout = Layout(feeds=feeds, hosts=hosts)
    with Site(layout, content, latency=latency) as site, tempfile.TemporaryDirectory() as tmp:
        world = World(site, Path(tmp), feeds, 2, log)
        ours = cold_run(world, name="6 ours")
        (Path(tmp) / "feeds.txt").write_text("\n".join(site.feed_url(f) for f in range(feeds)))
        site.reset_counts()
        naive_cmd = [sys.executable, str(REPO / "bench" / "e2e_naive.py")]
        naive = e2e_measure.run(
            [*naive_cmd, str(Path(tmp) / "feeds.txt"), str(Path(tmp) / "naive")],
            log=log,
            env=child_env(),
        )
        naive_requests = dict(site.counts)
        written = len(list((Path(tmp) / "naive").glob("*.md")))
    m = ours.measured
    checks = ours.checks + ([f"naive exit status {naive.status}"] if naive.status else [])
    return Result(
        "6 ours vs naive",
        m,
        ours.requests,
        checks,
        [
            ours.lines[0],
            f"ours:  {_describe(m)}",
            f"naive: {_describe(naive)}; {written} files, requests {naive_requests}",
            f"naive ÷ ours: wall {naive.wall / m.wall:.1f}×, CPU {naive.cpu / m.cpu:.1f}×",
        ],
        {
            "wall": f"{m.wall:.1f} s vs {naive.wall:.1f} s ({naive.wall / m.wall:.1f}× faster)",
            "cpu": f"{m.cpu:.1f} s vs {naive.cpu:.1f} s ({naive.cpu / m.cpu:.1f}× less)",
            "rss": f"{m.tree_peak_mb:.0f} MB vs {naive.tree_peak_mb:.0f} MB",
        },
    )


def soak(world: World, minutes: float, grow_every: float) -> Result:
    """Scenario 4: the daemon, sources every 10 s, a new item per feed every ``grow_every``."""
    ensure_warm(world)
    site, layout = world.site, world.site.layout
    interval = 10.0
    world.config(range(world.feeds), interval=f"{interval:g}s")
    site.mode, layout.grow_every, layout.started = "validators", grow_every, time.time()
    site.reset_counts()
    proc, started, sampler = e2e_measure.start(
        world.scrape("run"), log=world.log, env=child_env(), every=5.0
    )
    time.sleep(minutes * 60)
    ended = time.time()
    proc.send_signal(signal.SIGTERM)
    m = e2e_measure.wait_measured(proc, started, sampler)
    requests = dict(site.counts)
    written = {}
    for post in (world.archive / "_posts").glob("*.md"):
        written[read_from_url(post)] = post.stat().st_mtime
    delays, later, missing = [], [], 0
    for feed in range(world.feeds):
        for item in range(layout.items, layout.newest_item(feed, ended) + 1):
            appeared = layout.appeared_at(feed, item)
            mtime = written.get(site.article_url(feed, item))
            if mtime is not None:
                delays.append(mtime - appeared)
                if appeared - layout.started >= 60:
                    later.append(mtime - appeared)
            elif ended - appeared > interval * 1.2:
                missing += 1
    later.sort()
    layout.grow_every = 0.0
    delays.sort()
    after_first = [s for s in m.samples if s[0] >= 60] or m.samples
    rss0, main0, fds0 = after_first[0][1], after_first[0][2], after_first[0][3]
    growth = (max(s[1] for s in after_first) - rss0) / rss0 if rss0 else 0.0
    main_growth = (max(s[2] for s in after_first) - main0) / main0 if main0 else 0.0
    fds = [s[3] for s in after_first]
    minutes_rss = ", ".join(f"{s[1]:.0f}" for s in m.samples[11::12])
    checks = [] if m.status == 0 else [f"exit status {m.status} after SIGTERM"]
    if missing:
        checks.append(f"{missing} items older than an interval not archived")
    worst = delays[-1] if delays else 0.0
    p99 = delays[int(len(delays) * 0.99)] if delays else 0.0
    return Result(
        "4 daemon soak",
        m,
        requests,
        checks,
        [
            f"{world.feeds} sources every {interval:g} s for {minutes:g} min, a new item per "
            f"feed every {grow_every:g} s, {site.latency * 1000:.0f} ms latency",
            _describe(m),
            f"tree RSS after 1 min {rss0:.0f} MB, growth after it {growth * 100:.1f}% (≤ 10%); "
            f"the main process {main0:.0f} MB, {main_growth * 100:+.1f}%; open files {fds0} → "
            f"{fds[-1]} (max {max(fds)}); tree RSS each minute: {minutes_rss} MB",
            f"{len(delays)} new items archived, delay from appearing to on disk: p99 "
            f"{p99:.1f} s, max {worst:.1f} s ({_ratio(worst, interval)} the interval); "
            f"{missing} missing; of those appearing after the first minute, max "
            f"{later[-1] if later else 0.0:.1f} s",
        ],
        {
            "wall": f"{minutes:g} min",
            "cpu": f"{m.cpu / (minutes * 60) * 100:.0f}% of a core",
            "rss": f"+{growth * 100:.1f}% after 1 min (≤ 10%), fds {fds0}→{fds[-1]}",
            "ratio": f"max delay {worst:.1f} s (≤ {interval:g} s)",
        },
    )


# -- the command ----------------------------------------------------------------


def machine() -> str:
    versions = []
    for name in PACKAGES:
        try:
            versions.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            versions.append(f"{name} absent")

    def git(*args: str) -> str:
        found = subprocess.run(
            ["git", "-C", str(REPO), *args], capture_output=True, text=True, check=False
        )
        return found.stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "?"
    if git("status", "--porcelain", "--untracked-files=no", "scraper"):
        commit += " with uncommitted changes"
    return (
        f"{os.cpu_count()} cores ({platform.processor() or platform.machine()}), "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}; "
        f"{', '.join(versions)}; scraper at {commit}"
    )


@contextmanager
def world_for(args: argparse.Namespace, content: Content, log: Path) -> Iterator[World]:
    layout = Layout(feeds=args.feeds, hosts=args.hosts, items=args.items)
    with Site(layout, content, latency=args.latency) as site:
        root = Path(tempfile.mkdtemp(prefix="e2e-"))
        try:
            yield World(
                site,
                root,
                args.feeds,
                args.per_host,
                log,
                profile=args.profile,
                workers=args.workers,
            )
        finally:
            if not args.keep:
                shutil.rmtree(root, ignore_errors=True)
            else:
                print(f"kept {root}")


def print_result(result: Result) -> None:
    state = "ok" if not result.checks else "FAILED: " + "; ".join(result.checks)
    print(f"\n{result.scenario} [{state}]")
    for line in result.lines:
        print(f"  {line}")
    if result.requests:
        print(f"  requests: {result.requests} ({sum(result.requests.values())} in all)")
    sys.stdout.flush()


def table(results: list[Result]) -> str:
    rows = ["| scenario | wall | bound, ratio | CPU | peak RSS |", "|---|---|---|---|---|"]
    for r in results:
        bound_ratio = ", ".join(x for x in (r.row.get("bound"), r.row.get("ratio")) if x)
        rows.append(
            f"| {r.scenario} | {r.row.get('wall', '')} | {bound_ratio or '-'} | "
            f"{r.row.get('cpu', '')} | {r.row.get('rss', '')} |"
        )
    return "\n".join(rows)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--scenario", type=int, action="append", choices=range(1, 7), default=[])
    p.add_argument("--small", action="store_true", help="100 feeds on 10 hosts, 1 min soak")
    p.add_argument("--feeds", type=int, default=1000)
    p.add_argument("--hosts", type=int, default=50)
    p.add_argument("--items", type=int, default=10)
    p.add_argument("--per-host", type=int, default=2)
    p.add_argument("--latency", type=float, default=0.25, help="seconds, scenarios 1-3")
    p.add_argument("--soak-minutes", type=float, default=10.0)
    p.add_argument("--soak-new-every", type=float, default=60.0, help="seconds per new item")
    p.add_argument("--start-runs", type=int, default=10)
    p.add_argument("--content", choices=["real", "synthetic"], default="real")
    p.add_argument("--keep", action="store_true", help="keep the project folder")
    p.add_argument("--workers", type=int, help="extract_workers in the config")
    p.add_argument("--profile", type=Path, help="run scrape under pyinstrument, reports here")
    args = p.parse_args(argv)
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    if args.small:
        args.feeds, args.hosts, args.soak_minutes = 100, 10, min(args.soak_minutes, 1.5)
    args.scenario = sorted(set(args.scenario or range(1, 7)), key=[1, 2, 3, 5, 6, 4].index)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print(machine())
    kinds = ("aeb", "zaobao") if args.content == "real" else ("synthetic",)
    content = Content(kinds, is_zaobao=lambda feed: feed % args.hosts % ZAOBAO_EVERY == 4)
    print(f"content: {content.describe()}")
    log = Path(tempfile.mkdtemp(prefix="e2e-logs-")) / "scrape.log"
    print(f"logs of the runs: {log}")
    results = []
    with world_for(args, content, log) as world:
        for number in args.scenario:
            if number == 1:
                result = cold_run(world)
            elif number in (2, 3):
                result = warm_run(world, "validators" if number == 2 else "plain")
            elif number == 4:
                result = soak(world, args.soak_minutes, args.soak_new_every)
            elif number == 5:
                result = start_up(args.start_runs)
            else:
                result = versus_naive(content, 50, 5, 0.05, log)
            print_result(result)
            results.append(result)
    print("\n" + table(results))
    return 0 if all(not r.checks for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
