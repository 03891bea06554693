#!/usr/bin/env python3
"""Fuzz the extractors longer than the test suite does.

    .venv/bin/python stress/fuzz_extract.py                       # 20,000 cases
    .venv/bin/python stress/fuzz_extract.py --seed 220 --count 1  # replay one seed
    .venv/bin/python stress/fuzz_extract.py --pages corpus --count 5000 --seed 1000000

Cases are those of tests/test_extract_fuzz.py (tests/fuzzcases.py): a seed picks a
base page and one to three mutations. Each case runs extract_generic and
extract_article (with the Zaobao rule and without); a problem is an exception or a
call over --limit seconds. Prints each problem with its seed, then a summary;
exit 1 if there was any. ``--save DIR`` writes the failing inputs there (outside
the project: corpus-based ones hold third-party text).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from fuzzcases import LIMIT_S, Base, check, corpus_pages, make_case, own_pages


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0, help="first seed")
    parser.add_argument("--pages", choices=["own", "corpus", "both"], default="both")
    parser.add_argument("--limit", type=float, default=LIMIT_S, help="seconds per call")
    parser.add_argument("--save", type=Path, help="write failing inputs here")
    args = parser.parse_args(argv)

    bases: list[Base] = []
    if args.pages in ("own", "both"):
        bases += own_pages()
    if args.pages in ("corpus", "both"):
        found = corpus_pages()
        if not found:
            print("../shared/corpus/aeb-dev is absent: own pages only", file=sys.stderr)
        bases += found
    if not bases:
        return 2

    kinds: Counter[str] = Counter()
    failing = 0
    start = time.perf_counter()
    for seed in range(args.seed, args.seed + args.count):
        case = make_case(seed, bases)
        problems = check(case, args.limit)
        if not problems:
            continue
        failing += 1
        for problem in problems:
            print(problem, flush=True)
            kinds[problem.split("): ", 1)[-1][:120]] += 1
        if args.save:
            args.save.mkdir(parents=True, exist_ok=True)
            (args.save / f"seed-{seed}.html").write_text(case.html, "utf-8", "surrogatepass")
    took = time.perf_counter() - start
    print(f"\n{args.count} cases from {len(bases)} pages in {took:.0f} s: {failing} failing")
    for kind, n in kinds.most_common():
        print(f"  {n:6d}  {kind}")
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
