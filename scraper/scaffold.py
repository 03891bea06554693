"""``scrape init [DIR]``: a new archive folder that ``jekyll build`` builds at once.

Lays out, from ``scraper/templates/site/``: a Jekyll ``_config.yml`` (posts
never read as Liquid, future-dated posts kept, the archive's time zone, the
packaged paginate and archives plugins), the layouts and includes of the posts,
the front page in pages, the month, year, category and tag pages, the Atom
feed, one stylesheet, a ``.gitignore``, and a ``config.yaml`` polling the Zaobao
realtime sections into this same folder. Files that exist already are left alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

# Packaged under another name: setuptools' package data leaves dot files out.
_RENAMED = {"gitignore": ".gitignore"}


@dataclass(frozen=True, slots=True)
class Laid:
    created: tuple[Path, ...]
    kept: tuple[Path, ...]  # there already, left as they were


def _templates(folder: Traversable, prefix: str = "") -> Iterator[tuple[str, Traversable]]:
    for item in sorted(folder.iterdir(), key=lambda t: t.name):
        if item.name.startswith((".", "__")):
            continue
        if item.is_dir():
            yield from _templates(item, f"{prefix}{item.name}/")
        else:
            yield prefix + _RENAMED.get(item.name, item.name), item


def scaffold(target: Path) -> Laid:
    """Writes the site's files into ``target`` (created if missing)."""
    created: list[Path] = []
    kept: list[Path] = []
    for relpath, template in _templates(files("scraper") / "templates" / "site"):
        path = target / relpath
        if path.exists():
            kept.append(path)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(template.read_bytes())
        created.append(path)
    (target / "_posts").mkdir(parents=True, exist_ok=True)
    return Laid(tuple(created), tuple(kept))


def report(target: Path, laid: Laid) -> str:
    lines = [f"created {p.relative_to(target)}" for p in laid.created]
    lines += [f"kept    {p.relative_to(target)} (exists)" for p in laid.kept]
    lines += [
        "",
        f"Next: cd {target}",
        "      scrape check && scrape --once     # fetch the news into _posts/",
        "      scrape site build                 # the site, searchable, in _site/",
    ]
    return "\n".join(lines)
