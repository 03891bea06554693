"""Adapter for ../shared/bench/aeb_score.py: ``--extractor scraper.extract.bench_adapter:_aeb``
with ``--returns html``."""

from __future__ import annotations

from scraper.extract.generic import extract_generic


def _aeb(html: str, url: str) -> str:
    return extract_generic(html, url).body
