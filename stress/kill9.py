"""Kill -9 stress: ``scrape --once`` against a loopback site of 300 articles, killed
with SIGKILL at 50 random moments (a new process each time, restarted after each
kill), then run to its end; the archive and the state must be whole.

    .venv/bin/python stress/kill9.py [--points 50] [--articles 300] [--seed N]

Prints what happened and the checks' verdict; exits 0 when everything held. The
CI version (10 points) is tests/hostile/test_crash.py; both use tests/hostile/crash.py.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from hostile.crash import assert_whole, config, kill_loop, serve_articles  # noqa: E402
from hostile.server import CA_BUNDLE, HostileSite  # noqa: E402


def child_env() -> dict[str, str]:
    proxies = {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}
    env = {
        k: v
        for k, v in os.environ.items()
        if k.lower() not in proxies and not k.startswith("SCRAPER_")
    }
    env["PYTHONPATH"] = str(REPO)
    return env


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=50)
    parser.add_argument("--articles", type=int, default=300)
    parser.add_argument("--seed", type=int, default=random.randrange(2**32))
    parser.add_argument("--delay", type=float, default=0.3, help="each page's answer delay (s)")
    parser.add_argument("--max-per-host", type=int, default=2)
    parser.add_argument("--logs", type=Path, help="keep each run's log in this folder")
    parser.add_argument(
        "--window", type=float, nargs=2, default=(0.05, 3.5), metavar=("MIN", "MAX")
    )
    args = parser.parse_args()

    started = time.monotonic()
    with HostileSite() as site, tempfile.TemporaryDirectory(prefix="kill9-") as folder:
        root = Path(folder)
        urls = serve_articles(site, args.articles, delay=args.delay)
        setup = config(args.max_per_host)
        doc = {
            "archive_dir": "archive",
            "state_path": "state/scraper.sqlite3",
            "allow_private_networks": True,
            "proxy": site.url,
            "sources": setup["sources"],
            "http": {**setup["http"], "ca_bundle": str(CA_BUNDLE)},
        }
        (root / "config.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
        command = [sys.executable, "-m", "scraper", "--config", str(root / "config.yaml"), "--once"]
        report = kill_loop(
            command,
            env=child_env(),
            cwd=root,
            archive=root / "archive",
            points=args.points,
            window=tuple(args.window),  # type: ignore[arg-type]
            rng=random.Random(args.seed),
            logs=args.logs,
        )
        print(f"seed {args.seed}, {args.articles} articles, page delay {args.delay}s")
        print(report.summary())
        try:
            assert report.final_status == 0, report.final_output
            assert_whole(root / "archive", root / "state" / "scraper.sqlite3", urls)
        except AssertionError as exc:
            print(f"FAILED: {exc}")
            if args.logs:  # keep the evidence
                for part in ("archive", "state"):
                    shutil.copytree(root / part, args.logs / part, dirs_exist_ok=True)
                (args.logs / "final.log").write_text(report.final_output, encoding="utf-8")
            return 1
    print(
        f"OK: {args.articles} articles archived exactly once, no partial or temporary file, "
        f"state integrity ok ({time.monotonic() - started:.0f}s in all)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
