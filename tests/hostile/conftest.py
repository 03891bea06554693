"""Fixtures: the hostile site, and a project folder whose config points at it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import Project, clean_env

from hostile.checks import Run, run_measured
from hostile.server import HostileSite


@pytest.fixture
def hostile() -> Iterator[HostileSite]:
    with HostileSite() as site:
        yield site


@dataclass
class HostileProject(Project):
    """``Project`` (tests/conftest.py) against the hostile site, with measured runs."""

    site: HostileSite  # type: ignore[assignment]

    def run(self, *args: str, timeout: float = 180) -> Run:
        """``scrape ARGS`` to its end, with its peak memory and wall time."""
        return run_measured(self.command(*args), env=clean_env(), cwd=self.root, timeout=timeout)

    @property
    def rules(self) -> Path:
        return self.root / "rules"


@pytest.fixture
def world(tmp_path: Path, hostile: HostileSite) -> HostileProject:
    return HostileProject(tmp_path, hostile)
