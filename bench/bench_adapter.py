"""Adapter for ../shared/bench/aeb_score.py: ``--extractor bench_adapter:_aeb --returns
html`` (with ``bench/`` on ``PYTHONPATH``); bench/extract.py and
bench/extract_instructions.py use it so."""

from __future__ import annotations

from scraper.extract.generic import extract_generic


def _aeb(html: str, url: str) -> str:
    return extract_generic(html, url).body
