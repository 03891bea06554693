#!/usr/bin/env python3
"""Our generic extractor beside trafilatura and readability-lxml, in one process,
on the two development sets.

aeb-dev (../shared/corpus/aeb-dev): 90 news pages with hand-marked article text,
scored by ../shared/bench/aeb_score.py (the published metric: 4-token shingle F1),
ours through ``bench_adapter:_aeb`` (bench/bench_adapter.py) (HTML, turned into text the
same way for every extractor).

readability-pages (../shared/corpus/readability-pages): Mozilla Readability's own
test pages, scored by ../shared/bench/readability_score.py (token F1 against
Readability.js's output, so readability-lxml has home advantage; title and byline
exact-match rates besides).

Each table shows F1, precision, recall, empty results and pages/s (CPU time, best
of ``--repeats`` rounds of one pass of every extractor in turn, all in this one
process, so that the machine's drift falls on all alike), and how many times
our pages/s is each peer's. ``--split a`` or ``b`` scores one half of each set, the
halves split by site (a site's pages are all in one half, chosen by the SHA-256 of
its site key), so tuning on one half and checking on the other asks how it holds
on sites it has never seen. An aeb-dev page's site is its URL's registered domain.
A readability case has no URL: its site is its folder name without a trailing
``-<digits>``, joined with every case whose name extends that by ``-…`` and with
every case whose canonical or og:url link has the same registered domain.

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python bench/extract.py                      # both sets, all pages
    .venv/bin/python bench/extract.py --split a --worst 10 # tune on half a …
    .venv/bin/python bench/extract.py --split b            # … check on half b
    .venv/bin/python bench/extract.py --set readability --json out.json

The corpora are read from ../shared and never copied into the project.
"""

from __future__ import annotations

import argparse
import functools
import gzip
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import platform
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
AEB_SCORE = SHARED / "bench" / "aeb_score.py"
READABILITY_SCORE = SHARED / "bench" / "readability_score.py"
CORPUS = SHARED / "corpus" / "aeb-dev"
PAGES = SHARED / "corpus" / "readability-pages"
OURS = "bench_adapter:_aeb"  # bench/bench_adapter.py: this script's folder is on sys.path
SCRAPER = "scraper"
READABILITY_URL = "http://fakehost/test/page.html"  # what readability_score.py gives every case
PACKAGES = ("selectolax", "trafilatura", "readability-lxml", "lxml", "html-text")
# Second-level labels under which a country's sites register (news.example.co.uk).
_SECOND_LEVEL = frozenset({"co", "com", "net", "org", "ac", "gov", "edu", "ne", "or"})

Results = dict[str, dict[str, Any]]


def site_of(url: str) -> str:
    """The registered domain of ``url``'s host, near enough: www.bbc.co.uk → bbc.co.uk."""
    labels = (urlsplit(url).hostname or "").lower().removeprefix("www.").split(".")
    keep = 3 if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _SECOND_LEVEL else 2
    return ".".join(labels[-keep:])


def half_of(site: str) -> str:
    return "ab"[hashlib.sha256(site.encode("utf-8")).digest()[0] % 2]


def split_ids(ground_truth: dict[str, dict[str, str]], half: str) -> list[str]:
    """The ids of the aeb-dev pages whose site falls in ``half`` ("a" or "b")."""
    return sorted(i for i, row in ground_truth.items() if half_of(site_of(row["url"])) == half)


# --- readability-pages: cases, their sites, the split -------------------------------------

_TAG = re.compile(r"<(?:link|meta)\b[^>]*>", re.I)
_ATTR = re.compile(r"""([\w:-]+)\s*=\s*("[^"]*"|'[^']*'|[^\s"'>]+)""")
_DIGIT_SUFFIX = re.compile(r"-\d+$")


def case_dirs(pages: Path = PAGES) -> list[Path]:
    """The case folders of readability-pages (those with a source page)."""
    return sorted(
        d
        for d in pages.iterdir()
        if (d / "source.html").is_file() or (d / "source.html.gz").is_file()
    )


def read_source(case: Path) -> str:
    packed = case / "source.html.gz"
    if packed.is_file():
        return gzip.decompress(packed.read_bytes()).decode("utf-8")
    return (case / "source.html").read_text(encoding="utf-8")


def page_hosts(html: str) -> set[str]:
    """The hosts of the page's ``<link rel=canonical>`` and ``og:url`` addresses, lowercased."""
    hosts = set()
    for tag in _TAG.finditer(html):
        attrs = {k.lower(): v.strip("\"'").strip() for k, v in _ATTR.findall(tag.group(0))}
        if "canonical" in attrs.get("rel", "").lower().split():
            address = attrs.get("href", "")
        elif attrs.get("property", attrs.get("name", "")).lower() == "og:url":
            address = attrs.get("content", "")
        else:
            continue
        host = urlsplit(address if "//" in address else "").hostname
        if host and "." in host:
            hosts.add(host.lower())
    return hosts


def readability_sites(sources: dict[str, str]) -> dict[str, str]:
    """Case name → site key. A case's family is its name without a trailing ``-<digits>``;
    a family whose name extends another's by ``-…`` joins it, and so do families whose
    pages' canonical/og:url addresses share a registered domain. The key is the
    shortest, then first, family name of the group."""
    family = {name: _DIGIT_SUFFIX.sub("", name.lower()) for name in sources}
    parent: dict[str, str] = {}

    def root(node: str) -> str:
        parent.setdefault(node, node)
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    def join(a: str, b: str) -> None:
        parent[root(a)] = root(b)

    names = set(family.values())
    for name in names:
        root(name)
        for other in names:
            if name.startswith(other + "-"):
                join(name, other)
    for case, html in sources.items():
        for host in page_hosts(html):
            if host != "fakehost":
                join(family[case], "//" + site_of("http://" + host))
    groups: dict[str, list[str]] = {}
    for name in names:
        groups.setdefault(root(name), []).append(name)
    key = {r: min(members, key=lambda n: (len(n), n)) for r, members in groups.items()}
    return {case: key[root(family[case])] for case in sources}


def readability_split(sources: dict[str, str], half: str) -> list[str]:
    """The names of the readability cases whose site falls in ``half`` ("a" or "b")."""
    sites = readability_sites(sources)
    return sorted(case for case, site in sites.items() if half_of(site) == half)


# --- the machine ---------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def scraper_source() -> str:
    """Where ``scraper`` is imported from, and its git commit (``+`` when changed)."""
    spec = importlib.util.find_spec("scraper")
    if spec is None or spec.origin is None:
        return "scraper: not importable"
    where = Path(spec.origin).parent
    try:
        git = ["git", "-C", str(where)]
        head = subprocess.run(
            [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        changed = subprocess.run(
            [*git, "status", "--porcelain", "--", "."], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return f"scraper from {where}"
    return f"scraper from {where} (git {head}{' + local changes' if changed else ''})"


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
        scraper_source(),
    ]


def load_module(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_aeb(path: Path) -> ModuleType:
    return load_module(path, "aeb_score")


# --- the two sets --------------------------------------------------------------------------


def interleaved(
    passes: dict[str, Callable[[], Any]], repeats: int, cpu_of: Callable[[Any], float]
) -> dict[str, Any]:
    """Each extractor's timed pass, ``repeats`` rounds of one pass of every extractor
    in turn, the fastest of each kept: the virtual machine's speed drifts by a fifth
    from one minute to the next, and timing one extractor's passes after another's
    would put that drift into their ratio."""
    best: dict[str, Any] = {}
    for _ in range(max(1, repeats)):
        for name, run in passes.items():
            out = run()
            if name not in best or cpu_of(out) < cpu_of(best[name]):
                best[name] = out
    return best


def score_aeb(args: argparse.Namespace) -> tuple[str, Results]:
    aeb = load_aeb(args.aeb)
    truth = json.loads((args.corpus / "ground-truth.json").read_text(encoding="utf-8"))
    ids = sorted(truth) if args.split == "all" else split_ids(truth, args.split)
    sites = {site_of(truth[i]["url"]) for i in ids}
    heading = f"{len(ids)} of {len(truth)} pages, {len(sites)} sites"
    print(heading)
    wanted = set(ids)
    rows, pages = aeb.load_corpus(args.corpus, None)
    rows = {i: r for i, r in rows.items() if i in wanted}
    pages = {i: h for i, h in pages.items() if i in wanted}
    want = {i: r.get("articleBody", "") for i, r in rows.items()}
    urls = {i: r.get("url", "") for i, r in rows.items()}
    runs: list[tuple[str, Callable[[str, str], str | None], bool]] = [
        (SCRAPER, aeb.load_callable(OURS), True)
    ]
    runs += [(name, fn, False) for name, fn in aeb.peer_extractors(args.peers).items()]
    results: Results = {}
    timed = interleaved(
        {
            name: functools.partial(aeb.run, fn, pages, urls, 1, as_html)
            for name, fn, as_html in runs
        },
        args.repeats,
        cpu_of=lambda out: out[1],
    )
    for name, _, _ in runs:
        preds, cpu, errors = timed[name]
        m = aeb.score(want, preds)
        m.update(cpu_s=cpu, pages_per_s=len(pages) / cpu if cpu else 0.0, errors=errors)
        results[name] = m
    table(results, [])
    if args.worst:
        print(f"worst {args.worst} pages of scraper (per-page F1):")
        ranked = sorted(results[SCRAPER]["per_page_f1"].items(), key=lambda kv: kv[1])
        for i, f in ranked[: args.worst]:
            print(f"  {f:5.3f}  {i[:16]}  {urls[i]}")
    return heading, results


def score_readability(args: argparse.Namespace) -> tuple[str, Results]:
    rs = load_module(args.readability, "readability_score")
    cases = rs.load(args.pages)
    sites = readability_sites({n: c["source"] for n, c in cases.items()})
    chosen = (
        sorted(cases)
        if args.split == "all"
        else [n for n in cases if half_of(sites[n]) == args.split]
    )
    heading = (
        f"{len(chosen)} of {len(cases)} pages, {len({sites[n] for n in chosen})} sites; "
        f"URL {READABILITY_URL}"
    )
    print(heading)
    cases = {n: cases[n] for n in chosen}
    found = rs.extractors(False)
    wanted = {"ours": SCRAPER, "trafilatura": "trafilatura", "readability-lxml": "readability-lxml"}
    results: Results = {}
    preds_of: dict[str, dict[str, str]] = {}
    chosen_runs: dict[str, tuple[Callable[..., Any], Any]] = {}
    for long_name, (body, meta) in found.items():
        name = next((v for k, v in wanted.items() if long_name.split()[0] == k), None)
        if (
            name is None
            or body is None
            or (name != SCRAPER and name.split("-")[0] not in args.peers)
        ):
            continue
        chosen_runs[name] = (body, meta)
    timed = interleaved(
        {
            name: functools.partial(rs.run_body, body, cases, 1)
            for name, (body, _) in chosen_runs.items()
        },
        args.repeats,
        cpu_of=lambda out: out[2],
    )
    for name, (_, meta) in chosen_runs.items():
        preds, errors, cpu = timed[name]
        res = rs.score_body(cases, preds)
        res.update(errors=errors, cpu_s=cpu, pages_per_s=len(cases) / cpu if cpu else 0.0)
        res.update(rs.score_meta(meta, cases))
        if name == "readability-lxml":  # it gives no byline
            res["byline_exact"] = None
        results[name], preds_of[name] = res, preds
    hidden = rs.internal_exceptions(cases)
    results[SCRAPER]["internal_exceptions"] = hidden
    table(results, ["title", "byline"])
    print(
        f"title= exact-match rate over {len(cases)} pages, byline= over the "
        f"{results[SCRAPER]['byline_n']} with a byline; "
        f"{len(hidden)} page(s) where ours' private _extract raised (scored empty)"
    )
    peers = [n for n in results if n != SCRAPER]
    if args.worst and peers:
        per = {n: r["per_page_f1"] for n, r in results.items()}
        gap = {c: max(per[p][c] for p in peers) - per[SCRAPER][c] for c in cases}
        print(f"{args.worst} pages where scraper trails the best peer most (per-page F1):")
        print(
            f"  {'page':<40} {'ours':>5} "
            + " ".join(f"{p[:11]:>11}" for p in peers)
            + "  P_ours R_ours"
        )
        for c in sorted(gap, key=lambda c: gap[c], reverse=True)[: args.worst]:
            p, r = rs.page_pr(rs.tokens(cases[c]["truth"]), rs.tokens(preds_of[SCRAPER][c]))
            nan = float("nan")
            print(
                f"  {c:<40} {per[SCRAPER][c]:5.2f} "
                + " ".join(f"{per[q][c]:11.2f}" for q in peers)
                + f"  {nan if p is None else p:6.2f} {nan if r is None else r:6.2f}"
            )
        better = sum(gap[c] < -0.02 for c in cases)
        worse = sum(gap[c] > 0.02 for c in cases)
        print(f"scraper beats the best peer by > 0.02 on {better} pages, trails it on {worse}")
    return heading, results


def table(results: Results, meta: list[str]) -> None:
    """One row an extractor; for each peer, how many times its pages/s ours is."""
    ours = results[SCRAPER]
    extra = "".join(f" {m + '=':>7}" for m in meta)
    print(
        f"{'extractor':<17} {'F1':>6} {'prec':>6} {'recall':>6} {'empty':>5} {'pages/s':>8}"
        f"{extra}  scraper: speed, F1"
    )
    for name, r in results.items():
        cells = "".join(
            f" {r[m + '_exact']:7.3f}" if r.get(m + "_exact") is not None else f" {'-':>7}"
            for m in meta
        )
        vs = ""
        if name != SCRAPER and r["pages_per_s"]:
            vs = f"  {ours['pages_per_s'] / r['pages_per_s']:5.2f}x, {ours['f1'] - r['f1']:+.3f}"
        errors = f"  ({len(r['errors'])} raised)" if r.get("errors") else ""
        print(
            f"{name:<17} {r['f1']:6.3f} {r['precision']:6.3f} {r['recall']:6.3f} {r['empty']:5d} "
            f"{r['pages_per_s']:8.1f}{cells}{vs}{errors}"
        )


def summary(results: Results, peer: str = "trafilatura") -> str:
    ours, other = results[SCRAPER], results.get(peer)
    if not other or not other["pages_per_s"]:
        speed = f"{ours['pages_per_s']:.1f} pages/s"
        return f"scraper: F1 {ours['f1']:.3f}, {speed}, empty {ours['empty']}"
    return (
        f"scraper vs {peer}: F1 {ours['f1'] - other['f1']:+.3f}, "
        f"{ours['pages_per_s'] / other['pages_per_s']:.2f}x its pages/s, empty {ours['empty']}"
    )


SETS: dict[str, tuple[str, Callable[[argparse.Namespace], tuple[str, Results]]]] = {
    "aeb": ("aeb-dev", score_aeb),
    "readability": ("readability-pages", score_readability),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--set", choices=["aeb", "readability", "both"], default="both")
    parser.add_argument("--split", choices=["all", "a", "b"], default="all")
    parser.add_argument("--repeats", type=int, default=3, help="passes timed, best taken")
    parser.add_argument("--worst", type=int, default=0, help="list the N worst pages of ours")
    parser.add_argument("--json", type=Path, help="write both sets' results here")
    parser.add_argument("--peers", default="trafilatura,readability", help="comma list")
    parser.add_argument("--aeb", type=Path, default=AEB_SCORE, help="path of aeb_score.py")
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="the aeb-dev folder")
    parser.add_argument("--readability", type=Path, default=READABILITY_SCORE)
    parser.add_argument("--pages", type=Path, default=PAGES, help="the readability-pages folder")
    args = parser.parse_args(argv)
    args.peers = [p for p in args.peers.split(",") if p]
    chosen = list(SETS) if args.set == "both" else [args.set]
    needs = {
        "aeb": [args.aeb, args.corpus / "ground-truth.json"],
        "readability": [args.readability, args.pages],
    }
    missing = [str(p) for s in chosen for p in needs[s] if not p.exists()]
    if missing:
        print(f"bench: need {', '.join(missing)}", file=sys.stderr)
        return 2
    for line in machine():
        print(line)
    done: dict[str, dict[str, Any]] = {}
    for key in chosen:
        label, score = SETS[key]
        print(f"\n== {label}, split {args.split}; CPU seconds, best of {args.repeats}")
        heading, results = score(args)
        done[label] = {"split": args.split, "pages": heading, "results": results}
    print()
    for label, run in done.items():
        print(f"{label} ({args.split}): {summary(run['results'])}")
    if args.json:
        args.json.write_text(json.dumps(done, indent=1, ensure_ascii=False, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
