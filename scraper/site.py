"""``scrape site build [DIR]``: the archive's site, searchable, in ``DIR/_site``.

Runs Debian's ``jekyll build`` on the folder ``scrape init`` laid out, then
Pagefind over the built pages: its index (``_site/pagefind/``) is what the search
box on every page reads, on any static host. The extended Pagefind build (the
``pagefind[extended]`` package, ``pip install 'scraper[site]'``) is the one that
cuts Chinese and Japanese text into words; the plain one finds a Chinese phrase
only where a clause begins.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from scraper.errors import ScraperError

JEKYLL_PACKAGES = "jekyll ruby-jekyll-paginate ruby-jekyll-archives"
PAGEFIND_PACKAGE = "pip install 'scraper[site]'  (pagefind[extended])"
# What `jekyll build` says when a plugin the _config.yml names is not installed.
_PLUGIN_PACKAGES = {
    "jekyll-paginate": "ruby-jekyll-paginate",
    "jekyll-archives": "ruby-jekyll-archives",
}


class SiteError(ScraperError):
    pass


@dataclass(frozen=True, slots=True)
class Tools:
    jekyll: str
    pagefind: str


@dataclass(frozen=True, slots=True)
class Built:
    site: Path  # the built site, _site/
    indexed: int | None  # pages in the search index, as Pagefind counted them
    warnings: tuple[str, ...]


def find_tools() -> Tools:
    """Jekyll and the Pagefind binary; one error naming every one that is missing."""
    jekyll = shutil.which("jekyll")
    binary = pagefind_binary()
    if jekyll is not None and binary is not None:
        return Tools(jekyll, binary)
    raise SiteError("; ".join(missing_tools(jekyll, binary)))


def missing_tools(jekyll: str | None, pagefind: str | None) -> list[str]:
    """Of the two tools found (None: not found), each missing one and how to install it."""
    missing = []
    if jekyll is None:
        missing.append(f"jekyll is not installed (Debian: apt-get install {JEKYLL_PACKAGES})")
    if pagefind is None:
        missing.append(f"pagefind is not installed ({PAGEFIND_PACKAGE})")
    return missing


def pagefind_binary() -> str | None:
    """The binary the ``pagefind`` package ships (the extended one when installed),
    else one on PATH."""
    try:
        from pagefind.service import get_executable

        found = get_executable()
    except (ImportError, OSError):  # not installed; its binary package without a binary
        found = None
    if found is not None and found.is_file():
        return str(found)
    return shutil.which("pagefind_extended") or shutil.which("pagefind")


def is_extended(pagefind: str) -> bool:
    """Whether the binary is the extended Pagefind (the one that segments Chinese)."""
    return "extended" in Path(pagefind).name


def jekyll_command(jekyll: str, folder: Path) -> list[str]:
    return [jekyll, "build", "--source", str(folder), "--destination", str(folder / "_site")]


def pagefind_command(pagefind: str, built: Path) -> list[str]:
    return [pagefind, "--site", str(built)]


def missing_plugin_hint(output: str) -> str | None:
    """What to install when Jekyll stopped for a plugin ``_config.yml`` names."""
    wanted = [pkg for plugin, pkg in _PLUGIN_PACKAGES.items() if f"have {plugin} or" in output]
    if not wanted:
        return None
    return f"a Jekyll plugin the site uses is missing: apt-get install {' '.join(wanted)}"


def build_env(environ: dict[str, str]) -> dict[str, str]:
    """Jekyll reads file names in the locale's encoding: Chinese post names need UTF-8."""
    return {**environ, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}


def build_site(
    folder: Path,
    tools: Tools,
    echo: Callable[[str], None],
) -> Built:
    """``jekyll build`` of ``folder`` into ``folder/_site``, then its Pagefind index.
    ``echo`` gets every line the two print, as they print it."""
    return index_site(jekyll_site(folder, tools.jekyll, echo), tools.pagefind, echo)


def jekyll_site(folder: Path, jekyll: str, echo: Callable[[str], None]) -> Path:
    """``jekyll build`` of ``folder``; the built site, ``folder/_site``."""
    if not (folder / "_config.yml").is_file():
        raise SiteError(
            f"{folder}: not a Jekyll site (no _config.yml): make one with `scrape init {folder}`"
        )
    code, output = _run_echoing(jekyll_command(jekyll, folder), echo)
    if code != 0:
        hint = missing_plugin_hint(output)
        raise SiteError(f"jekyll build failed (exit {code})" + (f": {hint}" if hint else ""))
    return folder / "_site"


def index_site(built: Path, pagefind: str, echo: Callable[[str], None]) -> Built:
    """Pagefind's index of the built site, in ``built/pagefind``."""
    # A fresh index, not this one beside the last one's files (kept by keep_files).
    shutil.rmtree(built / "pagefind", ignore_errors=True)
    code, output = _run_echoing(pagefind_command(pagefind, built), echo)
    if code != 0:
        raise SiteError(f"pagefind failed (exit {code}) on {built}")
    pages = re.search(r"Indexed (\d+) pages?", output)
    warnings: tuple[str, ...] = ()
    if not is_extended(pagefind):
        warnings = (
            f"{pagefind} is the plain Pagefind: Chinese is found only where a "
            f"clause begins; {PAGEFIND_PACKAGE} has the extended one",
        )
    return Built(built, int(pages.group(1)) if pages else None, warnings)


def _run_echoing(argv: Sequence[str], echo: Callable[[str], None]) -> tuple[int, str]:
    lines = []
    with subprocess.Popen(
        list(argv),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        encoding="utf-8",
        errors="replace",
        env=build_env(dict(os.environ)),
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            echo(line.rstrip("\n"))
            lines.append(line)
    return proc.returncode, "".join(lines)


def report(built: Built) -> str:
    lines = [f"warning: {w}" for w in built.warnings]
    lines += [
        f"site built in {built.site}; search index in {built.site / 'pagefind'}"
        + (f" ({built.indexed} pages)" if built.indexed is not None else ""),
        f"look at it: {serve_command(built.site)}",
    ]
    return "\n".join(lines)


def serve_command(site: Path) -> str:
    """How to look at a built site: served as a static host serves it."""
    return f"python3 -m http.server --directory {site} 8000   # then http://127.0.0.1:8000/"
