"""CI check of the container: build the image, run `scrape --once` inside it
against the loopback test site, and check the files it wrote.

    python tests/container_smoke.py [--no-build]

Uses ../shared/tools/container-check (podman; no Docker engine needed). The
container shares the host network, so the site on 127.0.0.1 is its proxy.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from loopback_site import CA_BUNDLE, running_site  # noqa: E402
from newsfixtures import article_page, make_story, rss2, zaobao_article, zaobao_listing  # noqa: E402

TOOL = Path(os.environ.get("CONTAINER_CHECK", REPO.parent / "shared" / "tools" / "container-check"))
TAG = "localhost/scraper:test"


def run_in_image(
    data: Path, config: str, *args: str, timeout: float
) -> subprocess.CompletedProcess[str]:
    """``container-check run`` with ``data``'s ``config`` as the image's config.yaml, its
    CA bundle, and its archive/ and state/ folders mounted; ``args``: the rest of the
    command (the image and what it runs)."""
    mounts = {
        config: "/data/config.yaml:ro",
        "ca.pem": "/data/ca.pem:ro",
        "archive": "/data/archive",
        "state": "/data/state",
    }
    volumes = [arg for name, at in mounts.items() for arg in ("-v", f"{data / name}:{at}")]
    return subprocess.run(
        [str(TOOL), "run", "--rm", *volumes, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def daemon_healthcheck(data: Path) -> list[str]:
    """The daemon in the image with its HTTP service on, probed by `scrape healthcheck`
    (the image's HEALTHCHECK command), then stopped with SIGTERM."""
    config = yaml.safe_load((data / "config.yaml").read_text(encoding="utf-8"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config["service"] = {"enabled": True, "host": "127.0.0.1", "port": port}
    (data / "service.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    script = (
        "scrape run >/tmp/daemon.log 2>&1 & pid=$!; "
        "for i in $(seq 1 100); do scrape healthcheck >/tmp/hc 2>&1 && break; sleep 0.2; done; "
        "cat /tmp/hc; scrape status; kill -TERM $pid; wait $pid; echo daemon-exit=$?; "
        "grep -c daemon.stopped /tmp/daemon.log"
    )
    run = run_in_image(data, "service.yaml", "--entrypoint", "sh", TAG, "-c", script, timeout=300)
    print(run.stdout)
    expected = f"healthy: http://127.0.0.1:{port}/healthz answered 200"
    if expected not in run.stdout or "daemon-exit=0" not in run.stdout:
        return [f"daemon healthcheck in the image failed: {run.stdout}{run.stderr[-2000:]}"]
    if "zaobao-realtime-china  ok" not in run.stdout:
        return [f"`scrape status` in the image did not report the source: {run.stdout}"]
    return []


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--no-build", action="store_true")
    args = parser.parse_args()
    if not args.no_build:
        subprocess.run([str(TOOL), "build", str(REPO), TAG], check=True)

    t0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    feed = [make_story("https://news.example.test", n, t0 + timedelta(hours=n)) for n in (1, 2)]
    listing = [make_story("https://www.zaobao.com.sg", n, t0, lang="zh") for n in (3, 4)]
    with running_site() as site, tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        site.add(
            "https://news.example.test/rss.xml", rss2(feed), content_type="application/rss+xml"
        )
        for s in feed:
            site.add(s.url, article_page(s))
        site.add("https://www.zaobao.com.sg/realtime/china", zaobao_listing(listing))
        for s in listing:
            site.add(s.url, zaobao_article(s))
        shutil.copy(CA_BUNDLE, data / "ca.pem")
        (data / "config.yaml").write_text(
            yaml.safe_dump(
                {
                    "archive_dir": "archive",
                    "state_path": "state/scraper.sqlite3",
                    "allow_private_networks": True,
                    "proxy": site.url,
                    "http": {"ca_bundle": "ca.pem", "timeout": "10s"},
                    "git": {"commit": True},  # the image's git, on a host-owned repository
                    "sources": [
                        {
                            "name": "rss",
                            "url": "https://news.example.test/rss.xml",
                            "author": "Example",
                        },
                        {
                            "name": "zaobao-realtime-china",
                            "url": "https://www.zaobao.com.sg/realtime/china",
                            "kind": "listing",
                            "author": "联合早报",
                            "tags": ["联合早报"],
                            "categories": ["联合早报"],
                        },
                    ],
                },
                allow_unicode=True,
            ),
            encoding="utf-8",
        )
        for sub in ("archive", "state"):
            (data / sub).mkdir()
        subprocess.run(["git", "init", "-q", str(data / "archive")], check=True)
        os.chmod(data, 0o777)
        # The image's user is not the host's: let it write (as a matching --user would).
        for path in [data / "state", data / "archive", *(data / "archive").rglob("*")]:
            os.chmod(path, 0o777 if path.is_dir() else 0o666)
        run = run_in_image(data, "config.yaml", TAG, "--once", timeout=600)
        print(run.stdout)
        print(run.stderr[-4000:], file=sys.stderr)
        posts = sorted((data / "archive").rglob("*.md"))
        problems = []
        if run.returncode != 0:
            problems.append(f"scrape --once exited {run.returncode}")
        if len(posts) != 4:
            problems.append(f"expected 4 posts, found {[p.name for p in posts]}")
        texts = "\n".join(p.read_text(encoding="utf-8") for p in posts)
        for s in feed + listing:
            if s.paragraphs[-1] not in texts:
                problems.append(f"missing paragraph of {s.url}")
        if not (data / "state" / "scraper.sqlite3").exists():
            problems.append("no state database written")
        log = subprocess.run(
            ["git", "-C", str(data / "archive"), "log", "--format=%s"],
            capture_output=True,
            text=True,
            check=False,
        )
        if log.stdout.strip() != "Archive 4 articles: rss (2), zaobao-realtime-china (2)":
            problems.append(f"expected one commit of the 4 posts, git log says {log.stdout!r}")
        health = subprocess.run(
            [str(TOOL), "run", "--rm", TAG, "check"],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if health.returncode != 0 or "zaobao-realtime-china" not in health.stdout:
            problems.append(f"`scrape check` in the image failed: {health.stdout}{health.stderr}")
        problems += daemon_healthcheck(data)
    for p in problems:
        print(f"container smoke: FAIL: {p}", file=sys.stderr)
    if not problems:
        print(f"container smoke: ok ({len(posts)} posts written inside the container)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
