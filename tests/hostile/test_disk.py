"""A full disk and a read-only archive, for real: the archive (and, in one case,
the state) is a small tmpfs mounted in a private mount namespace
(``unshare --user --map-root-user --mount``). Each failing entry gets a clear
reason, is not marked done, and is written by the next run once the space (or
write access) is back, exactly once. Skipped where unshare or tmpfs mounts are
not allowed.

Unit twins (every errno mapped to a reason, no temp file left):
tests/test_archive.py.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import clean_env

from hostile.checks import check_archive, integrity, state_rows
from hostile.conftest import HostileProject
from hostile.server import Reply
from hostile.world import Item, plain_page, rss, x

FEED = "https://disk.example.test/rss.xml"
ARTICLES = 12

# $1 archive mount point, $2 python, $3 config, $4 output folder, $5 scenario.
# Runs `scrape --once` twice: before and after the trouble is fixed; copies what
# each run left (archive, state) to the output folder, which is on the real disk.
SCRIPT = r"""
set -u
A=$1; PY=$2; CFG=$3; OUT=$4; CASE=$5
run() { "$PY" -m scraper --config "$CFG" --once >"$OUT/$1.out" 2>&1; echo $? >"$OUT/$1.status"; }
keep() { mkdir -p "$OUT/$1"; cp -a "$A/." "$OUT/$1/archive"; cp -a "$(dirname "$CFG")/state" "$OUT/$1/" 2>/dev/null || true; }
case $CASE in
  full)  # the archive's disk fills up after a few posts
    mount -t tmpfs -o size=256k tmpfs "$A" || exit 77
    mkdir "$A/_posts"
    head -c 12288 /dev/zero >"$A/_posts/reserve" || exit 78
    head -c 100000000 /dev/zero >"$A/filler" 2>/dev/null
    rm "$A/_posts/reserve"
    run first; keep first
    rm "$A/filler"
    run second; keep second ;;
  full-state)  # one small volume holds the archive and the state: full from the start
    mount -t tmpfs -o size=512k tmpfs "$A" || exit 77
    mkdir "$A/archive" "$A/state"
    head -c 100000000 /dev/zero >"$A/filler" 2>/dev/null
    run first; mkdir -p "$OUT/first"; cp -a "$A/archive" "$A/state" "$OUT/first/"
    rm "$A/filler"
    run second; mkdir -p "$OUT/second"; cp -a "$A/archive" "$A/state" "$OUT/second/" ;;
  read-only)
    mount -t tmpfs tmpfs "$A" || exit 77
    mkdir "$A/_posts"
    mount -o remount,ro "$A" || exit 77
    run first; keep first
    mount -o remount,rw "$A" || exit 77
    run second; keep second ;;
esac
"""


def serve(world: HostileProject) -> list[str]:
    urls = [f"https://disk.example.test/news/{n}.html" for n in range(ARTICLES)]
    for n, url in enumerate(urls):
        world.site.add(url, plain_page(f"Disk story {n}", f"disk-{n}"))
    items = [Item(x(u), f"Disk story {n}", u) for n, u in enumerate(urls)]
    world.site.add(FEED, Reply(rss(items), content_type="application/rss+xml"))
    return urls


def in_namespace(world: HostileProject, case: str, mount: Path) -> Path:
    """Run SCRIPT's ``case``; the folder holding what each run printed and left."""
    if not shutil.which("unshare"):
        pytest.skip("needs unshare(1)")
    out = world.root / "out"
    out.mkdir()
    mount.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", SCRIPT, "sh",
         str(mount), sys.executable, str(world.config), str(out), case],
        capture_output=True, text=True, timeout=180, check=False, env=clean_env(),
        cwd=world.root,
    )  # fmt: skip
    if done.returncode == 77 or "unshare:" in done.stderr:
        pytest.skip(f"no private tmpfs mount here: {done.stderr.strip()}")
    assert done.returncode == 0, done.stderr
    return out


def outcome(out: Path, run: str) -> tuple[int, str]:
    return int((out / f"{run}.status").read_text()), (out / f"{run}.out").read_text()


def failures(output: str) -> dict[str, str]:
    return dict(re.findall(r"^\s+(https?://\S+): (.*)$", output, re.M))


def done_urls(state: Path) -> set[str]:
    return {u for (u,) in state_rows(state, "SELECT url FROM entries WHERE status = 'done'")}


def test_disk_full_fails_clearly_and_the_next_run_writes_the_rest(world: HostileProject) -> None:
    urls = serve(world)
    world.write_config([{"name": "disk", "url": FEED}], http={"max_per_host": 1})

    out = in_namespace(world, "full", world.archive)

    status, output = outcome(out, "first")
    assert status == 1, output
    assert "Traceback" not in output
    failed = failures(output)
    assert failed, output
    assert all(reason.startswith("disk full writing ") for reason in failed.values()), failed
    first = out / "first"
    (first / "archive" / "filler").unlink()
    written = check_archive(first / "archive")  # whatever fitted is whole, no temp file
    assert set(written) | set(failed) == set(urls)
    assert done_urls(first / "state" / "scraper.sqlite3") == set(written)

    status, output = outcome(out, "second")
    assert status == 0, output
    assert set(check_archive(out / "second" / "archive")) == set(urls)
    assert done_urls(out / "second" / "state" / "scraper.sqlite3") == set(urls)


def test_archive_and_state_on_a_full_volume(world: HostileProject) -> None:
    urls = serve(world)
    volume = world.root / "volume"
    world.write_config(
        [{"name": "disk", "url": FEED}],
        archive_dir="volume/archive",
        state_path="volume/state/scraper.sqlite3",
    )

    out = in_namespace(world, "full-state", volume)

    status, output = outcome(out, "first")
    assert status == 1, output
    assert "Traceback" not in output
    assert re.search(r"disk full|database or disk is full", output), output
    assert not list((out / "first" / "archive").rglob("*.md"))

    status, output = outcome(out, "second")
    assert status == 0, output
    assert set(check_archive(out / "second" / "archive")) == set(urls)
    state = out / "second" / "state" / "scraper.sqlite3"
    assert integrity(state) == "ok"
    assert done_urls(state) == set(urls)


def test_read_only_archive_fails_clearly_and_the_next_run_writes_all(
    world: HostileProject,
) -> None:
    urls = serve(world)
    world.write_config([{"name": "disk", "url": FEED}])

    out = in_namespace(world, "read-only", world.archive)

    status, output = outcome(out, "first")
    assert status == 1, output
    failed = failures(output)
    assert set(failed) == set(urls), output
    assert all(r.startswith("read-only file system writing ") for r in failed.values()), failed
    assert not done_urls(out / "first" / "state" / "scraper.sqlite3")

    status, output = outcome(out, "second")
    assert status == 0, output
    assert set(check_archive(out / "second" / "archive")) == set(urls)
