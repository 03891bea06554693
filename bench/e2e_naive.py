"""The naive pipeline of scenario 6, the way a first script would do it: feedparser,
one httpx client fetching one thing at a time, trafilatura for the text, a file
per article. ``python bench/e2e_naive.py FEEDS_FILE OUT_DIR`` (a URL per line).
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import feedparser
import httpx
import trafilatura


def main(feeds_file: str, out_dir: str) -> int:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with httpx.Client(timeout=30) as client:
        for feed_url in Path(feeds_file).read_text().split():
            feed = feedparser.parse(client.get(feed_url).content)
            for entry in feed.entries:
                page = client.get(entry.link).text
                text = trafilatura.extract(page, url=entry.link) or ""
                name = hashlib.sha256(entry.link.encode()).hexdigest()[:16]
                (out / f"{name}.md").write_text(f"# {entry.title}\n\n{text}\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
