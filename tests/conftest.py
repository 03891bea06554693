"""Shared fixtures: a loopback site, a project folder with a config, the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).parent))

from loopback_site import CA_BUNDLE, Site, running_site
from pgtools import fresh_schema

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


@pytest.fixture
def site() -> Iterator[Site]:
    with running_site() as s:
        yield s


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL database for the test alone (a fresh schema; see pgtools): skips
    without a server, fails without one under CI."""
    with fresh_schema() as url:
        yield url


@pytest.fixture
def without_proxy_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxy variable of the caller's environment, in either case, for the test
    (``pytestmark = pytest.mark.usefixtures("without_proxy_variables")``)."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def clean_env() -> dict[str, str]:
    """The environment for a child scrape: no proxies or config from the caller."""
    proxies = {name.lower() for name in PROXY_VARIABLES}
    env = {
        k: v
        for k, v in os.environ.items()
        if k.lower() not in proxies and not k.startswith("SCRAPER_")
    }
    env["PYTHONPATH"] = str(REPO)
    return env


def check_golden(actual: dict[str, Any], expected_path: Path) -> None:
    """``actual`` is the JSON in ``expected_path``; with ``UPDATE_GOLDEN`` set, it
    becomes that file's content instead (review the diff)."""
    if os.environ.get("UPDATE_GOLDEN"):
        text = json.dumps(actual, ensure_ascii=False, indent=2) + "\n"
        expected_path.write_text(text, encoding="utf-8")
    assert actual == json.loads(expected_path.read_text(encoding="utf-8"))


@dataclass
class Project:
    """A scraper project folder: config.yaml, archive/ and state/ in ``root``."""

    root: Path
    site: Site

    @property
    def config(self) -> Path:
        return self.root / "config.yaml"

    @property
    def archive(self) -> Path:
        return self.root / "archive"

    @property
    def state(self) -> Path:
        return self.root / "state" / "scraper.sqlite3"

    def write_config(self, sources: list[dict[str, Any]], **extra: Any) -> Path:
        doc: dict[str, Any] = {
            "archive_dir": "archive",
            "state_path": "state/scraper.sqlite3",
            "allow_private_networks": True,
            "proxy": self.site.url,
            "http": {"timeout": "5s", "retries": 1, "ca_bundle": str(CA_BUNDLE)},
            "sources": sources,
        }
        for key, value in extra.items():
            if isinstance(value, dict) and isinstance(doc.get(key), dict):
                doc[key] = {**doc[key], **value}
            else:
                doc[key] = value
        self.config.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
        return self.config

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "scraper", "--config", str(self.config), *args]

    def start(
        self,
        *args: str,
        stdout: int | IO[str] = subprocess.PIPE,
        stderr: int | IO[str] = subprocess.PIPE,
    ) -> subprocess.Popen[str]:
        """``scrape ARGS`` started in the project's folder, not waited for."""
        return subprocess.Popen(
            self.command(*args),
            stdout=stdout,
            stderr=stderr,
            text=True,
            env=clean_env(),
            cwd=self.root,
        )

    def scrape(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(*args),
            capture_output=True,
            text=True,
            timeout=timeout,
            env=clean_env(),
            cwd=self.root,
            check=False,
        )

    def posts(self) -> list[Path]:
        return sorted(self.archive.rglob("*.md"))


@pytest.fixture
def project(tmp_path: Path, site: Site) -> Project:
    return Project(tmp_path, site)


def front_matter(text: str) -> dict[str, Any]:
    assert text.startswith("---\n"), text[:80]
    end = text.index("\n---\n", 4)
    doc = yaml.safe_load(text[4:end])
    assert isinstance(doc, dict)
    return doc
