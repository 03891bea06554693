"""Kill -9 at random moments, then the archive and the state are whole.

CI runs 10 kill points against 300 articles; ``stress/kill9.py`` runs 50 (and
prints the numbers the README's "Reliability" section quotes). Set
``SCRAPER_KILL_POINTS`` and ``SCRAPER_KILL_SEED`` to replay or widen a run here.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import clean_env

from hostile.conftest import HostileProject
from hostile.crash import assert_captured, assert_whole, config, kill_loop, serve_articles
from scraper.archive import Archive

ARTICLES = 300


@pytest.mark.parametrize("captures", ["off", "warc"])
def test_kill_9_at_random_moments_loses_and_duplicates_nothing(
    world: HostileProject, captures: str
) -> None:
    seed = int(os.environ.get("SCRAPER_KILL_SEED", random.randrange(2**32)))
    points = int(os.environ.get("SCRAPER_KILL_POINTS", "10"))
    # ~4 s of work in all: kills inside the window land mid-run, even late in the loop
    urls = serve_articles(world.site, ARTICLES, delay=0.05)
    setup = config(max_per_host=4)
    world.write_config(setup["sources"], http=setup["http"], captures=captures)

    report = kill_loop(
        world.command("--once"),
        env=clean_env(),
        cwd=world.root,
        archive=world.archive,
        points=points,
        window=(0.05, 1.0),
        rng=random.Random(seed),
    )

    context = f"seed {seed}: {report.summary()}"
    assert report.final_status == 0, f"{context}\n{report.final_output}"
    assert report.killed >= points // 2, context
    try:
        assert_whole(world.archive, world.state, urls)
        if captures == "warc":
            assert_captured(world.root / "captures", world.state, urls)
    except AssertionError as exc:
        raise AssertionError(f"{context}\n{exc}") from None


LOCK_HOLDER = """
import sys, time
from pathlib import Path
from scraper.archive import _create_temp
path, fd = _create_temp(Path(sys.argv[1]))
print(path, flush=True)
time.sleep(60)
"""


def test_a_dead_writers_temp_file_goes_at_once_a_live_ones_stays(tmp_path: Path) -> None:
    """Unit twin of the above: the clean-up at start-up tells a crashed writer's
    temporary file (lock free) from a live one's (lock held), whatever their age."""
    folder = tmp_path / "_posts"
    folder.mkdir()
    command = [sys.executable, "-c", LOCK_HOLDER, str(folder)]
    with (
        subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=clean_env()) as dead,
        subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=clean_env()) as alive,
    ):
        try:
            dead_file = Path(dead.stdout.readline().strip())  # type: ignore[union-attr]
            alive_file = Path(alive.stdout.readline().strip())  # type: ignore[union-attr]
            dead.kill()
            dead.wait()
            assert dead_file.exists() and alive_file.exists()
            assert Archive(tmp_path).remove_stale_temp_files() == 1
            assert not dead_file.exists() and alive_file.exists()
        finally:
            dead.kill()
            alive.kill()
