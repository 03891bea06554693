#!/usr/bin/env python3
"""Our generic extractor beside its peers, counted in CPU instructions.

``bench/extract.py`` times the extractors in CPU seconds, and on a shared virtual
machine those drift by a fifth or more from one minute to the next, ratios
included. This counts instructions instead, with valgrind's callgrind: the same
binary, pages and environment give the same count on every run, whatever else the
machine is doing, so a change of 1% is visible and the ratio to trafilatura is
stable. Each extractor runs in its own process: three warm-up pages, then every
page of the set (or of ``--split a|b``, the halves bench/extract.py scores) once,
counted from the first page to the last (loading the pages, imports and the
warm-up are not counted). ``--set readability`` counts Mozilla Readability's test
pages instead of aeb-dev (each with the URL readability_score.py gives it),
``--set both`` one after the other.

    .venv/bin/python bench/extract_instructions.py              # ours and trafilatura
    .venv/bin/python bench/extract_instructions.py --peers trafilatura,readability
    .venv/bin/python bench/extract_instructions.py --set readability --split b

Needs valgrind (Debian's package) and a CPython whose libpython keeps its symbols
(pyenv and Debian builds do). Under valgrind the peers run about fifty times
slower: trafilatura on the 90 pages takes about two minutes, on the 130 readability
pages about five. Both sets run the same callables (aeb_score.py's peers, ours
through its bench adapter, HTML out). Instructions are not seconds (cache misses
and branch mispredictions are not counted), but the two track each other closely
for code of the same kind.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import extract as bench_extract  # bench/extract.py: corpus paths, splits

_MARK = "functools_reduce"  # the C function that runs the counted loop
_COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")
_WARM_UP = 3


def items_of(which: str, folder: Path, ids: Path | None) -> list[tuple[str, str]]:
    """The (html, url) pages of a set ("aeb" or "readability"), only ``ids`` if given."""
    wanted = None if ids is None else set(ids.read_text(encoding="utf-8").split())
    if which == "readability":
        return [
            (bench_extract.read_source(case), bench_extract.READABILITY_URL)
            for case in bench_extract.case_dirs(folder)
            if wanted is None or case.name in wanted
        ]
    aeb = bench_extract.load_aeb(bench_extract.AEB_SCORE)
    truth, pages = aeb.load_corpus(folder, ids)
    return [(html, truth[page].get("url", "")) for page, html in pages.items()]


def split_names(which: str, folder: Path, half: str) -> list[str]:
    """The page ids (aeb) or case names (readability) of one half of a set."""
    if which == "readability":
        cases = bench_extract.case_dirs(folder)
        sources = {case.name: bench_extract.read_source(case) for case in cases}
        return bench_extract.readability_split(sources, half)
    truth = json.loads((folder / "ground-truth.json").read_text(encoding="utf-8"))
    return bench_extract.split_ids(truth, half)


def child(name: str, which: str, folder: Path, ids: Path | None) -> None:
    """Run one extractor on the pages; only the ``functools.reduce`` is counted."""
    items = items_of(which, folder, ids)
    aeb = bench_extract.load_aeb(bench_extract.AEB_SCORE)
    if name == "ours":
        extractor = aeb.load_callable(bench_extract.OURS)
    else:
        found = aeb.peer_extractors([name])  # keyed by the peer's package name
        if not found:
            raise SystemExit(f"no peer {name!r} (not known to aeb_score.py, or not installed)")
        (extractor,) = found.values()
    for html, url in items[:_WARM_UP]:
        extractor(html, url)

    def one(_: None, item: tuple[str, str]) -> None:
        with contextlib.suppress(Exception):  # a peer that raises still did its work
            extractor(*item)

    functools.reduce(one, items, None)
    print(len(items))


def count(name: str, folder: Path, ids: Path | None, which: str = "aeb") -> tuple[int, int]:
    """(instructions, pages) of ``name`` on a set's pages, from a callgrind run."""
    command = [
        "valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
        "--collect-atstart=no", f"--toggle-collect={_MARK}",
        sys.executable, __file__, "--child", name, "--set", which, "--folder", str(folder),
    ]  # fmt: skip
    if ids is not None:
        command += ["--ids", str(ids)]
    run = subprocess.run(command, capture_output=True, text=True, check=False)
    found = _COLLECTED.search(run.stderr)
    if run.returncode != 0 or found is None:
        tail = "\n".join(run.stderr.splitlines()[-5:])
        raise SystemExit(f"bench: callgrind run of {name} failed ({run.returncode}):\n{tail}")
    instructions = int(found.group(1))
    if instructions == 0:
        raise SystemExit(f"bench: nothing counted: this Python's libpython has no {_MARK} symbol")
    return instructions, int(run.stdout.split()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--set", choices=["aeb", "readability", "both"], default="aeb")
    parser.add_argument("--split", choices=["all", "a", "b"], default="all")
    parser.add_argument("--peers", default="trafilatura", help="comma list, '' for none")
    parser.add_argument("--corpus", type=Path, default=bench_extract.CORPUS, help="aeb-dev")
    parser.add_argument("--pages", type=Path, default=bench_extract.PAGES, help="readability")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--ids", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.set, args.folder, args.ids)
        return 0
    if shutil.which("valgrind") is None:
        print("bench: needs valgrind (apt-get install valgrind)", file=sys.stderr)
        return 2
    for line in bench_extract.machine():
        print(line)
    names = ["ours", *(name for name in args.peers.split(",") if name)]
    folders = {"aeb": args.corpus, "readability": args.pages}
    for which in ["aeb", "readability"] if args.set == "both" else [args.set]:
        folder = folders[which]
        print(f"== {which}, split {args.split}")
        with tempfile.TemporaryDirectory() as tmp:
            ids = None
            if args.split != "all":
                ids = Path(tmp) / "ids.txt"
                ids.write_text("\n".join(split_names(which, folder, args.split)) + "\n")
            per_page: dict[str, float] = {}
            for name in names:
                instructions, pages = count(name, folder, ids, which)
                per_page[name] = instructions / pages
                print(f"{name:12s} {per_page[name] / 1e6:8.2f} M instructions/page ({pages} pages)")
        for name in names[1:]:
            print(f"ours vs {name}: {per_page[name] / per_page['ours']:.2f}x fewer instructions")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
