"""Helpers for tests of the running service: the daemon with its log in a file, waiting,
Prometheus text, and outside programs (git, jekyll) that CI installs."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import NoReturn

import pytest
from conftest import Project
from prometheus_client.parser import text_string_to_metric_families


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(check: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return check()


class RunningDaemon:
    """``scrape run`` as a child process; its stderr goes to ``log``, readable any time."""

    def __init__(self, project: Project) -> None:
        self.log = project.root / "daemon.log"
        self._log_file = self.log.open("w", encoding="utf-8")
        self.proc = project.start("run", stdout=subprocess.DEVNULL, stderr=self._log_file)

    def logs(self) -> str:
        return self.log.read_text(encoding="utf-8")

    def signal(self, sig: signal.Signals) -> None:
        self.proc.send_signal(sig)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log_file.close()
        return self.proc.returncode


def metric(text: str, name: str, **labels: str) -> float | None:
    """The value of the sample ``name`` with exactly ``labels``, parsed the way
    Prometheus tooling parses it; None when there is no such sample."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return None


def sample_names(text: str) -> set[str]:
    return {s.name for f in text_string_to_metric_families(text) for s in f.samples}


def all_labels(text: str, name: str) -> Iterable[dict[str, str]]:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                yield dict(sample.labels)


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def require(binary: str, package: str) -> str:
    """The path of ``binary``; skips the test when it is missing, except in CI
    (``CI`` set), where .ci/run installs it and a missing one is a failure."""
    found = shutil.which(binary)
    if found is None:
        missing(f"{binary} not installed (apt-get install {package})")
    return found or ""


def missing(message: str) -> NoReturn:
    """Skips the test for a tool that is not installed, except in CI (``CI`` set),
    where .ci/run installs it and a missing one is a failure."""
    if os.environ.get("CI"):
        pytest.fail(f"{message}: CI must have it")
    pytest.skip(message)
