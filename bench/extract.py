#!/usr/bin/env python3
"""Our generic extractor beside trafilatura and readability-lxml, in one process.

Runs ../shared/bench/aeb_score.py (the published metric: shingle F1 against
hand-marked article text) on the aeb-dev corpus with
``scraper.extract.bench_adapter:_aeb`` (``--returns html``) and the two peers,
prints the machine, the score table and the speed ratios.

``--split a`` or ``b`` scores one half of the corpus, the halves split by site (a
site's pages are all in one half, chosen by the SHA-256 of its domain), so tuning
on one half and checking on the other asks what the issue asks: how it holds on
sites it has never seen. Any option this script does not know is passed on to
aeb_score.py (``--repeats 5``, ``--worst 10``, ``--json out.json``, ``--peers …``).

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python bench/extract.py --split a --worst 10

The corpus is read from ../shared and never copied into the project.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import platform
import sys
import tempfile
from pathlib import Path
from types import ModuleType
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parent.parent
AEB_SCORE = REPO.parent / "shared" / "bench" / "aeb_score.py"
CORPUS = REPO.parent / "shared" / "corpus" / "aeb-dev"
OURS = "scraper.extract.bench_adapter:_aeb"
PACKAGES = ("selectolax", "trafilatura", "readability-lxml", "lxml", "html-text")
# Second-level labels under which a country's sites register (news.example.co.uk).
_SECOND_LEVEL = frozenset({"co", "com", "net", "org", "ac", "gov", "edu", "ne", "or"})


def site_of(url: str) -> str:
    """The registered domain of ``url``'s host, near enough: www.bbc.co.uk → bbc.co.uk."""
    labels = (urlsplit(url).hostname or "").lower().removeprefix("www.").split(".")
    keep = 3 if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _SECOND_LEVEL else 2
    return ".".join(labels[-keep:])


def half_of(site: str) -> str:
    return "ab"[hashlib.sha256(site.encode("utf-8")).digest()[0] % 2]


def split_ids(ground_truth: dict[str, dict[str, str]], half: str) -> list[str]:
    """The ids of the pages whose site falls in ``half`` ("a" or "b")."""
    return sorted(i for i, row in ground_truth.items() if half_of(site_of(row["url"])) == half)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> list[str]:
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    versions = []
    for name in PACKAGES:
        try:
            versions.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            versions.append(f"{name} (not installed)")
    return [
        f"machine: {os.cpu_count()} logical cores ({usable} usable), {cpu_model()}, "
        f"{platform.system()} {platform.release()}",
        f"python {platform.python_version()} ({platform.python_implementation()}); "
        + ", ".join(versions),
    ]


def load_aeb(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("aeb_score", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def ratios(results: dict[str, dict[str, float]]) -> list[str]:
    ours = results.get(OURS)
    if not ours:
        return []
    lines = [f"scraper: F1 {ours['f1']:.3f}, {ours['pages_per_s']:.1f} pages/s"]
    for name, peer in results.items():
        if name != OURS and peer["pages_per_s"]:
            speed = ours["pages_per_s"] / peer["pages_per_s"]
            lines.append(f"  vs {name}: {speed:.2f}x its speed, F1 {ours['f1'] - peer['f1']:+.3f}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--split", choices=["all", "a", "b"], default="all")
    parser.add_argument("--aeb", type=Path, default=AEB_SCORE, help="path of aeb_score.py")
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    args, passed_on = parser.parse_known_args(argv)
    if "--ids" in passed_on and args.split != "all":
        parser.error("--ids and --split a|b both choose pages: give one")
    if not args.aeb.is_file() or not (args.corpus / "ground-truth.json").is_file():
        print(f"bench: need {args.aeb} and {args.corpus}/ground-truth.json", file=sys.stderr)
        return 2
    aeb = load_aeb(args.aeb)
    for line in machine():
        print(line)

    with tempfile.TemporaryDirectory() as tmp:
        extra = ["--corpus", str(args.corpus)]
        if args.split != "all":
            truth = json.loads((args.corpus / "ground-truth.json").read_text(encoding="utf-8"))
            ids = split_ids(truth, args.split)
            sites = {site_of(truth[i]["url"]) for i in ids}
            print(f"split {args.split}: {len(ids)} of {len(truth)} pages, {len(sites)} sites")
            ids_file = Path(tmp) / "ids.txt"
            ids_file.write_text("\n".join(ids) + "\n", encoding="utf-8")
            extra += ["--ids", str(ids_file)]
        json_out = Path(tmp) / "results.json"
        if "--json" not in passed_on:
            extra += ["--json", str(json_out)]
        else:
            json_out = Path(passed_on[passed_on.index("--json") + 1])
        if "--peers" not in passed_on:
            extra += ["--peers", "trafilatura,readability"]
        status = aeb.main(["--extractor", OURS, "--returns", "html", *extra, *passed_on])
        results = json.loads(json_out.read_text(encoding="utf-8"))
    print()
    for line in ratios(results):
        print(line)
    return int(status or 0)


if __name__ == "__main__":
    sys.exit(main())
