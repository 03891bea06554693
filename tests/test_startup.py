"""Start-up cost: the CLI imports what a command uses, and ``scrape --once`` with
nothing to poll (a cron job every minute) opens neither the event loop nor the
HTTP client, nor imports the extractor; yet it checks and answers exactly as a
full run does. Structure only: no timed assertions."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import clean_env

from scraper.state import acquire_lock

# Not needed to parse arguments, load the config or poll nothing.
HEAVY = {
    "anyio",
    "apscheduler",
    "asyncio",
    "charset_normalizer",
    "feedparser",
    "httpcore",
    "httpx",
    "markdown_it",
    "nh3",
    "prometheus_client",
    "selectolax",
    "scraper.daemon",
    "scraper.extract",
    "scraper.http",
    "scraper.pipeline",
    "scraper.service",
}

# Runs the CLI, then writes the modules it had imported to the file named first.
RUN_CLI = """
import json, sys
from scraper.cli import main
code = main(sys.argv[2:])
with open(sys.argv[1], "w") as f:
    json.dump(sorted(sys.modules), f)
sys.exit(code)
"""


def heavy_in(modules: list[str]) -> list[str]:
    return sorted(m for m in modules if m in HEAVY or m.split(".")[0] in HEAVY)


def run_cli(
    tmp: Path, *args: str, **env: str
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    modules = tmp / "modules.json"
    done = subprocess.run(
        [sys.executable, "-c", RUN_CLI, str(modules), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**clean_env(), **env},
        cwd=tmp,
        check=False,
    )
    return done, json.loads(modules.read_text()) if modules.exists() else []


def write_config(root: Path, sources: list[dict[str, Any]], **extra: Any) -> Path:
    config = root / "config.yaml"
    doc = {"archive_dir": "archive", "state_path": "state/scraper.sqlite3", "sources": sources}
    config.write_text(yaml.safe_dump({**doc, **extra}), encoding="utf-8")
    return config


def without_times(log: str) -> str:
    return re.sub(r"^\S+Z ", "", log, flags=re.M)


def test_importing_the_cli_imports_no_heavy_module() -> None:
    code = "import json, sys, scraper.cli; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env(),
        check=True,
    )
    assert heavy_in(json.loads(done.stdout)) == []


def test_the_console_script_imports_only_the_cli() -> None:
    script = Path(sys.executable).parent / "scrape"
    if not script.exists():
        pytest.skip("no installed scrape script beside this Python")
    imports = re.findall(r"^(?:from|import) ([\w.]+)", script.read_text(), flags=re.M)
    assert set(imports) <= {"re", "sys", "scraper.cli"}


@pytest.mark.parametrize(
    "sources",
    [
        [],
        [{"name": "off", "url": "https://news.example.test/rss.xml", "enabled": False}],
    ],
    ids=["no-sources", "all-disabled"],
)
def test_once_with_nothing_to_poll_imports_neither_network_nor_extractor(
    tmp_path: Path, sources: list[dict[str, Any]]
) -> None:
    config = write_config(tmp_path, sources)
    done, modules = run_cli(tmp_path, "--once", "-c", str(config))
    assert done.returncode == 0, done.stderr
    assert done.stdout == "0 sources, 0 new articles, 0 with failures\n"
    assert (tmp_path / "state" / "scraper.sqlite3").is_file()  # created, as a full run does
    assert heavy_in(modules) == []


def test_once_with_a_ca_bundle_opens_the_http_client_even_with_nothing_to_poll(
    tmp_path: Path,
) -> None:
    config = write_config(tmp_path, [], http={"ca_bundle": "missing.pem"})
    done, modules = run_cli(tmp_path, "--once", "-c", str(config))
    assert done.returncode == 2
    assert "http.ca_bundle: cannot load" in done.stderr
    assert "scraper.http" in modules


def _stale_temp_file(root: Path) -> Path:
    temp = root / "archive" / "_posts" / ".tmp-crashed"
    temp.parent.mkdir(parents=True, exist_ok=True)
    temp.write_text("half a post", encoding="utf-8")
    old = time.time() - 86400
    os.utime(temp, (old, old))
    return temp


DISABLED = {"name": "off", "url": "https://news.example.test/rss.xml", "enabled": False}


@pytest.mark.parametrize(
    "case",
    ["stale-temp-file", "unknown-rule", "broken-rule-file", "lock-held", "no-state-folder"],
)
def test_once_with_nothing_to_poll_answers_as_a_full_run_does(tmp_path: Path, case: str) -> None:
    """The same exit status, output and side effects as the full path (taken when a
    proxy is set: then opening the HTTP client could fail, so it is opened)."""
    sources: list[dict[str, Any]] = [DISABLED]
    extra: dict[str, Any] = {}
    if case == "unknown-rule":
        sources = [{**DISABLED, "rule": "no-such-rule"}]
    if case == "broken-rule-file":
        (tmp_path / "rules").mkdir()
        (tmp_path / "rules" / "bad.yaml").write_text("name: bad\nbogus: 1\n", encoding="utf-8")
        extra["rules_dir"] = "rules"
    if case == "no-state-folder":
        (tmp_path / "state").write_text("a file where the state folder goes", encoding="utf-8")
    config = write_config(tmp_path, sources, **extra)

    answers = []
    for env in ({}, {"HTTPS_PROXY": "http://127.0.0.1:9"}):  # quick path, then the full one
        temp = _stale_temp_file(tmp_path)
        if case == "lock-held":
            with acquire_lock(tmp_path / "state" / "scraper.sqlite3"):
                done, modules = run_cli(tmp_path, "--once", "-c", str(config), **env)
        else:
            done, modules = run_cli(tmp_path, "--once", "-c", str(config), **env)
        answers.append((done.returncode, done.stdout, without_times(done.stderr), temp.exists()))
        assert ("httpx" in modules) == bool(env)

    quick, full = answers
    assert quick == full
    code, out, err, temp_left = quick
    expected = {
        "stale-temp-file": (0, "archive.cleaned removed=1"),
        "unknown-rule": (2, "sources[0].rule: no site rule named 'no-such-rule'"),
        "broken-rule-file": (2, "bad.yaml: bogus: unknown key"),
        "lock-held": (1, "another scrape is already running on this state"),
        "no-state-folder": (1, "scrape: "),
    }[case]
    assert code == expected[0], (out, err)
    assert expected[1] in err
    assert temp_left == (case != "stale-temp-file")


def test_the_observers_need_nothing_of_the_http_client() -> None:
    """The progress line and the metrics are told by the fetcher's hooks: importing
    them loads no HTTP client."""
    code = "import sys, scraper.progress, scraper.observer; print(sorted(sys.modules))"
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=clean_env()
    )
    modules = run.stdout
    assert "'httpx'" not in modules and "'scraper.http'" not in modules


def test_a_run_without_captures_loads_no_warc_library() -> None:
    code = "import sys, scraper.pipeline, scraper.wiring; print(sorted(sys.modules))"
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=clean_env()
    )
    assert "'warcio'" not in run.stdout and "'scraper.captures'" in run.stdout
