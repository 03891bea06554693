"""bench/extract_instructions.py on two pages of each development set, so that the
benchmark keeps working: a callgrind count of ours, by the same child process the
benchmark runs. No counts are asserted beyond being there: they depend on the Python
build."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

import extract_instructions
from extract import CORPUS, PAGES, case_dirs

pytestmark = pytest.mark.skipif(
    shutil.which("valgrind") is None or not (CORPUS / "ground-truth.json").is_file(),
    reason="needs valgrind and ../shared/corpus/aeb-dev",
)


def _two_pages(folder: Path) -> Path:
    pages = sorted(p.name.removesuffix(".html.gz") for p in (CORPUS / "html").glob("*.gz"))
    ids = folder / "ids.txt"
    ids.write_text("\n".join(pages[:2]) + "\n")
    return ids


def test_counts_instructions_of_the_pages_asked(tmp_path: Path) -> None:
    ids = _two_pages(tmp_path)
    instructions, counted = extract_instructions.count("ours", CORPUS, ids)
    assert counted == 2
    assert instructions > 1_000_000  # two real pages, parsed and extracted


def test_a_failed_run_names_the_extractor(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="callgrind run of no-such-peer failed"):
        extract_instructions.count("no-such-peer", CORPUS, _two_pages(tmp_path))


@pytest.mark.skipif(not PAGES.is_dir(), reason="needs ../shared/corpus/readability-pages")
def test_counts_instructions_on_readability_cases(tmp_path: Path) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_text("\n".join(case.name for case in case_dirs(PAGES)[:2]) + "\n")
    instructions, counted = extract_instructions.count("ours", PAGES, ids, "readability")
    assert counted == 2
    assert instructions > 10_000


@pytest.mark.skipif(not PAGES.is_dir(), reason="needs ../shared/corpus/readability-pages")
def test_the_readability_halves_part_the_cases() -> None:
    halves = [extract_instructions.split_names("readability", PAGES, h) for h in "ab"]
    assert halves[0] and halves[1]
    assert not set(halves[0]) & set(halves[1])
    assert sorted(halves[0] + halves[1]) == sorted(case.name for case in case_dirs(PAGES))
