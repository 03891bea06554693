#!/usr/bin/env python3
"""Where a warm poll's CPU goes (``bench/e2e.py`` scenario 2, taken apart):

    .venv/bin/python bench/e2e_poll_parts.py            # 1,000 sources on 50 hosts
    .venv/bin/python bench/e2e_poll_parts.py --sources 300 --rounds 5

* ``http``: ``Fetcher.get`` with validators, answered 304 by a loopback server in
  a child process (50 addresses, 127.0.1.N, as the benchmark's site has), 2
  connections a host and 400 requests in flight, as ``scrape --once`` runs them;
* ``poll``: ``run_sources`` of the same sources with a fetcher that answers 304
  without a request: the snapshot, the decision, the one write, the log line
  (formatted, to /dev/null) and the result; the pipeline's own part of a 304 poll.

Both print CPU time (user + system of this process) per source, one line a
round: the first round of ``http`` opens the connections.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from scraper.archive import Archive
from scraper.config import HttpSettings, settings_from_dict
from scraper.deps import Deps
from scraper.extract.rules import RuleSet
from scraper.http import Fetcher
from scraper.logs import setup_logging
from scraper.pipeline import run_sources
from scraper.state import State
from scraper.types import NotModified, Validators

HOSTS = 50
IN_FLIGHT = 400

SERVER = r"""
import asyncio, sys
async def answer(reader, writer):
    try:
        while True:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b'HTTP/1.1 304 Not Modified\r\nETag: "e"\r\nContent-Length: 0\r\n\r\n')
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()
async def main():
    hosts = int(sys.argv[1])
    servers = [await asyncio.start_server(answer, f"127.0.1.{h}", 0) for h in range(1, hosts + 1)]
    print(" ".join(str(s.sockets[0].getsockname()[1]) for s in servers), flush=True)
    await asyncio.Event().wait()
asyncio.run(main())
"""


async def http_rounds(sources: int, rounds: int) -> None:
    with subprocess.Popen(
        [sys.executable, "-c", SERVER, str(HOSTS)], stdout=subprocess.PIPE, text=True
    ) as server:
        try:
            assert server.stdout is not None
            ports = [int(p) for p in server.stdout.readline().split()]
            fetcher = Fetcher(
                HttpSettings(max_per_host=2, max_connections=2 * HOSTS),
                allow_private_networks=True,
            )
            urls = [
                f"http://127.0.1.{n % HOSTS + 1}:{ports[n % HOSTS]}/feed/{n}.xml"
                for n in range(sources)
            ]
            gate = asyncio.Semaphore(IN_FLIGHT)

            async def get(url: str) -> None:
                async with gate:
                    answer = await fetcher.get(url, validators=Validators("e"))
                    assert isinstance(answer, NotModified)

            for n in range(rounds):
                started = time.process_time()
                await asyncio.gather(*(get(u) for u in urls))
                per = (time.process_time() - started) / sources * 1000
                print(f"http, round {n + 1}: {per:.3f} ms CPU per 304 request")
            await fetcher.aclose()
        finally:
            server.kill()


class _Unchanged:
    """A fetcher whose every answer is 304, without a request."""

    async def get(self, url: str, validators: Validators | None = None, **_: Any) -> NotModified:
        return NotModified(url, Validators("e"))


async def poll_rounds(sources: int, rounds: int) -> None:
    root = Path(tempfile.mkdtemp(prefix="e2e-poll-"))
    raw = {
        "archive_dir": "archive",
        "state_path": "state/scraper.sqlite3",
        "sources": [
            {"name": f"feed-{n:04d}", "url": f"http://127.0.1.{n % HOSTS + 1}/feed/{n}.xml"}
            for n in range(sources)
        ],
    }
    settings = settings_from_dict(raw, root, root / "config.yaml")
    with State(settings.state_target) as state:
        deps = Deps(
            settings=settings,
            fetcher=_Unchanged(),  # type: ignore[arg-type]
            state=state,
            archive=Archive(settings.archive_dir),
            rules=RuleSet(),
        )
        await run_sources(deps, list(settings.sources), parallel=IN_FLIGHT)  # the state's rows made
        for n in range(rounds):
            started = time.process_time()
            await run_sources(deps, list(settings.sources), parallel=IN_FLIGHT)
            per = (time.process_time() - started) / sources * 1000
            print(f"poll without HTTP, round {n + 1}: {per:.3f} ms CPU per 304 poll")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--sources", type=int, default=1000)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    with open(os.devnull, "w", encoding="utf-8") as devnull:
        setup_logging("text", logging.INFO, devnull)  # the log lines made, as scrape makes them
        asyncio.run(http_rounds(args.sources, args.rounds))
        asyncio.run(poll_rounds(args.sources, args.rounds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
