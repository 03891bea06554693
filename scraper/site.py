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

    @property
    def pagefind_extended(self) -> bool:
        return "extended" in Path(self.pagefind).name


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
    missing = []
    if jekyll is None:
        missing.append(f"jekyll is not installed (Debian: apt-get install {JEKYLL_PACKAGES})")
    if binary is None:
        missing.append(f"pagefind is not installed ({PAGEFIND_PACKAGE})")
    raise SiteError("; ".join(missing))


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
    if not (folder / "_config.yml").is_file():
        raise SiteError(
            f"{folder}: not a Jekyll site (no _config.yml): make one with `scrape init {folder}`"
        )
    code, output = _run_echoing(jekyll_command(tools.jekyll, folder), echo)
    if code != 0:
        hint = missing_plugin_hint(output)
        raise SiteError(f"jekyll build failed (exit {code})" + (f": {hint}" if hint else ""))
    built = folder / "_site"
    # A fresh index, not this one beside the last one's files (kept by keep_files).
    shutil.rmtree(built / "pagefind", ignore_errors=True)
    code, output = _run_echoing(pagefind_command(tools.pagefind, built), echo)
    if code != 0:
        raise SiteError(f"pagefind failed (exit {code}) on {built}")
    pages = re.search(r"Indexed (\d+) pages?", output)
    warnings: tuple[str, ...] = ()
    if not tools.pagefind_extended:
        warnings = (
            f"{tools.pagefind} is the plain Pagefind: Chinese is found only where a "
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
        f"look at it: python3 -m http.server --directory {built.site} 8000"
        "   # then http://127.0.0.1:8000/",
    ]
    return "\n".join(lines)
