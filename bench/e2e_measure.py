"""Running a command and measuring it: wall time, CPU (user + system of the process
and every child it waited for, from ``wait4``), peak RSS of the largest process
(``ru_maxrss``) and of the whole process tree (sampled from /proc), open files."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Measured:
    wall: float
    user: float
    sys: float
    maxrss_mb: float  # the largest single process (the child or one it waited for)
    tree_peak_mb: float  # sampled: the child and its descendants together
    status: int
    # seconds since the start, RSS of the tree and of the child alone (MB), its open files
    samples: list[tuple[float, float, float, int]] = field(default_factory=list)
    main_cpu: float = 0.0  # the child alone, as last sampled (its children: cpu - this)

    @property
    def cpu(self) -> float:
        return self.user + self.sys


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{name}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(name))
    return tree


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


_TICK = os.sysconf("SC_CLK_TCK")


def _cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime


def tree_rss_mb(pid: int, cpu: dict[int, float] | None = None) -> float:
    """RSS of ``pid`` and all its descendants, in MB; their CPU so far into ``cpu``."""
    tree, total, todo = _children(), 0.0, [pid]
    while todo:
        p = todo.pop()
        total += _rss_mb(p)
        if cpu is not None:
            cpu[p] = max(cpu.get(p, 0.0), _cpu(p))
        todo += tree.get(p, [])
    return total


def open_fds(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return -1


class Sampler:
    """Samples the tree RSS and the open files of ``pid`` every ``every`` seconds."""

    def __init__(self, pid: int, every: float) -> None:
        self.pid, self.every = pid, every
        self.samples: list[tuple[float, float, float, int]] = []
        self.peak = 0.0
        self.cpu: dict[int, float] = {}  # pid → CPU seconds, the last seen
        self._stop = threading.Event()
        self._started = time.monotonic()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            rss = tree_rss_mb(self.pid, self.cpu)
            self.peak = max(self.peak, rss)
            main = _rss_mb(self.pid)
            self.samples.append((time.monotonic() - self._started, rss, main, open_fds(self.pid)))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def wait_measured(proc: subprocess.Popen[bytes], started: float, sampler: Sampler) -> Measured:
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    sampler.stop()
    return Measured(
        wall=wall,
        user=usage.ru_utime,
        sys=usage.ru_stime,
        maxrss_mb=usage.ru_maxrss / 1024,
        tree_peak_mb=max(sampler.peak, usage.ru_maxrss / 1024),
        status=proc.returncode,
        samples=sampler.samples,
        main_cpu=sampler.cpu.get(proc.pid, 0.0),
    )


def start(
    cmd: Sequence[str], *, log: Path, env: dict[str, str] | None = None, every: float = 0.1
) -> tuple[subprocess.Popen[bytes], float, Sampler]:
    with log.open("ab") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    return proc, started, Sampler(proc.pid, every)


def run(
    cmd: Sequence[str], *, log: Path, env: dict[str, str] | None = None, every: float = 0.1
) -> Measured:
    """Runs ``cmd`` to its end (output appended to ``log``) and measures it."""
    proc, started, sampler = start(cmd, log=log, env=env, every=every)
    return wait_measured(proc, started, sampler)
