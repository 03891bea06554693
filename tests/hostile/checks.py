"""The invariants every run must keep, whatever the world served.

Written independently of the product's own helpers (render.py, archive.py), so
that a bug there cannot hide itself: names are checked against the rules of
Windows, macOS and Linux; files are parsed with PyYAML and rendered with
markdown-it (CommonMark, raw HTML on: what a static site publishes), and the
resulting HTML is scanned with the standard library's parser.
"""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import time
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import yaml
from markdown_it import MarkdownIt

KEYS = ["layout", "title", "date", "author", "from", "tags", "categories"]
_WINDOWS_FORBIDDEN = set('<>:"/\\|?*') | {chr(c) for c in range(32)}
_WINDOWS_DEVICES = {"CON", "PRN", "AUX", "NUL"} | {
    f"{p}{n}" for p in ("COM", "LPT") for n in "123456789"
}
# Front matter values fold these (and the whitespace around them) to one space:
# controls, line and paragraph separators, and what YAML cannot hold at all
# (lone surrogates, U+FFFE, U+FFFF).
_FOLDED = "\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff"
_FOLD = re.compile(rf"\s*[{_FOLDED}][\s{_FOLDED}]*")

# Elements that run code, load other documents, or restyle the page.
UNSAFE_TAGS = {
    "script", "style", "iframe", "frame", "frameset", "object", "embed", "applet", "base",
    "meta", "link", "form", "input", "button", "textarea", "select", "svg", "math",
    "template", "noscript", "video", "audio", "source", "portal", "dialog",
}  # fmt: skip
URL_ATTRS = {
    "href", "src", "srcset", "action", "formaction", "data", "poster", "background",
    "cite", "longdesc", "xlink:href", "ping", "lowsrc", "dynsrc",
}  # fmt: skip
SAFE_SCHEMES = {"http", "https", "mailto"}
IMAGE_SCHEMES = {"http", "https"}


def fold(text: str) -> str:
    """What a front-matter value reads back as (the archive format's folding)."""
    return _FOLD.sub(" ", text).strip()


def name_problem(name: str) -> str | None:
    """Why ``name`` is not a valid file name on Windows, macOS or Linux; None if it is."""
    if not name or name in (".", ".."):
        return "empty or a dot name"
    if len(name.encode("utf-8")) > 255:
        return "over 255 bytes"
    if bad := sorted(set(name) & _WINDOWS_FORBIDDEN):
        return f"forbidden characters {bad!r}"
    if name.endswith((".", " ")):
        return "ends with a dot or a space (Windows drops it)"
    if name.split(".", maxsplit=1)[0].rstrip(" ").upper() in _WINDOWS_DEVICES:
        return "a Windows device name"
    if not unicodedata.is_normalized("NFC", name):
        return "not NFC (macOS would store another name)"
    if any(0xD800 <= ord(c) <= 0xDFFF for c in name):
        return "a lone surrogate"
    return None


def case_clashes(names: Iterable[str]) -> list[tuple[str, str]]:
    """Names that one case-insensitive file system (Windows, macOS) would take as one."""
    seen: dict[str, str] = {}
    clashes = []
    for name in names:
        key = unicodedata.normalize("NFC", name).casefold()
        if key in seen:
            clashes.append((seen[key], name))
        seen[key] = name
    return clashes


class _Scanner(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in UNSAFE_TAGS:
            self.problems.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=…>")
            elif name == "style":
                self.problems.append(f"<{tag} style=…>")
            elif name in URL_ATTRS and value is not None:
                allowed = IMAGE_SCHEMES if tag == "img" else SAFE_SCHEMES
                for url in value.split(",") if name == "srcset" else [value]:
                    if (scheme := url_scheme(url)) and scheme not in allowed:
                        self.problems.append(f"<{tag} {name}={scheme}:…>")

    handle_startendtag = handle_starttag


def url_scheme(url: str) -> str | None:
    """The scheme a browser would see: control characters and spaces dropped, lower case."""
    cleaned = re.sub(r"[\x00-\x20\x7f]+", "", url)
    m = re.match(r"^([A-Za-z][A-Za-z0-9+.\-]*):", cleaned)
    return m[1].lower() if m else None


_MARKDOWN = MarkdownIt("commonmark")


def executable_html(post_text: str) -> list[str]:
    """What in the published page could run code or load something unsafe."""
    html = _MARKDOWN.render(post_text.split("\n---\n", 1)[1])
    scanner = _Scanner()
    scanner.feed(html)
    scanner.close()
    return scanner.problems


@dataclass(frozen=True)
class Post:
    path: Path
    text: str
    meta: dict[str, Any]

    @property
    def url(self) -> str:
        return str(self.meta["from"])

    @property
    def body(self) -> str:
        return self.text.split("\n<div>\n", 1)[1].rsplit("</div>\n", 1)[0]


def read_post(path: Path) -> Post:
    """A post, checked: UTF-8, front matter first with the keys in order, the
    lines after it as the format says, whole (ends with ``</div>``)."""
    text = path.read_text(encoding="utf-8")
    assert text.startswith("---\n"), f"{path}: no front matter"
    head, sep, rest = text[4:].partition("\n---\n")
    assert sep, f"{path}: front matter never closed"
    meta = yaml.safe_load(head)
    assert isinstance(meta, dict), f"{path}: front matter is not a mapping"
    assert list(meta)[: len(KEYS)] == KEYS, f"{path}: keys {list(meta)}"
    assert isinstance(meta["title"], str) and isinstance(meta["from"], str), path
    assert all(isinstance(t, str) for t in meta["tags"] + meta["categories"]), path
    lines = rest.split("\n")
    assert re.fullmatch(r"<!---?\d+-->", lines[0]), f"{path}: {lines[0]!r}"
    assert lines[2:5] == ["------", "", "<div>"], f"{path}: {lines[:5]!r}"
    assert text.endswith("\n</div>\n"), f"{path}: partial or unterminated"
    body = lines[5:-2]
    assert all(line and not line[0].isspace() for line in body), f"{path}: body breaks the block"
    return Post(path, text, meta)


def check_archive(archive: Path) -> dict[str, Post]:
    """Every file in the archive checked (names, no temp files, format, no
    executable HTML); the posts by ``from:`` URL, each URL exactly once."""
    posts: dict[str, Post] = {}
    for folder, dirs, files in os.walk(archive):
        for name in dirs + files:
            assert name_problem(name) is None, f"{folder}/{name!r}: {name_problem(name)}"
        assert not case_clashes(dirs + files), f"{folder}: {case_clashes(dirs + files)}"
        for name in files:
            path = Path(folder, name)
            assert name.endswith(".md"), f"not a post: {path}"
            post = read_post(path)
            assert post.url not in posts, f"{post.url} twice: {posts[post.url].path}, {path}"
            problems = executable_html(post.text)
            assert not problems, f"{path}: executable HTML {problems}"
            posts[post.url] = post
    return posts


def snapshot(root: Path) -> set[Path]:
    """Every path under ``root``."""
    return {Path(folder, name) for folder, dirs, files in os.walk(root) for name in dirs + files}


def written_outside(before: set[Path], after: set[Path], allowed: Iterable[Path]) -> list[Path]:
    """New paths that are not inside one of the ``allowed`` folders."""
    roots = [a.resolve() for a in allowed]
    return sorted(
        p for p in after - before if not any(p.resolve().is_relative_to(r) for r in roots)
    )


def integrity(state: Path) -> str:
    with sqlite3.connect(state) as db:
        return str(db.execute("PRAGMA integrity_check").fetchone()[0])


def state_rows(state: Path, sql: str, args: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
    db = sqlite3.connect(state)
    try:
        return db.execute(sql, tuple(args)).fetchall()
    finally:
        db.close()


@dataclass(frozen=True)
class Run:
    """A finished child process: exit status, output, peak memory, wall time."""

    returncode: int
    stdout: str
    stderr: str
    max_rss_mib: float
    seconds: float


def run_measured(
    command: list[str], *, env: Mapping[str, str], cwd: Path, timeout: float = 180
) -> Run:
    """Run ``command`` to its end and measure that one process's peak RSS (wait4)."""
    out, err = cwd / ".run-stdout", cwd / ".run-stderr"
    started = time.monotonic()
    with out.open("wb") as stdout, err.open("wb") as stderr:
        proc = subprocess.Popen(command, stdout=stdout, stderr=stderr, env=dict(env), cwd=cwd)
        deadline = started + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                raise AssertionError(f"{command} still running after {timeout}s: killed")
            time.sleep(0.05)
    proc.returncode = os.waitstatus_to_exitcode(status)
    run = Run(
        proc.returncode,
        out.read_text("utf-8", "replace"),
        err.read_text("utf-8", "replace"),
        usage.ru_maxrss / 1024,  # KiB on Linux
        time.monotonic() - started,
    )
    out.unlink()
    err.unlink()
    return run


def assert_summary(run: Run, expect: dict[str, str]) -> None:
    """Each source's summary line (by source name) matches its regex in ``expect``."""
    lines = {}
    for line in run.stdout.splitlines():
        if m := re.match(r"^(\S+)\s{2,}(.*)$", line):
            lines[m[1]] = m[2]
    for name, regex in expect.items():
        assert re.search(regex, lines.get(name, "")), (name, lines.get(name), run.stdout)


def assert_survived(run: Run) -> None:
    """The process ended on its own terms: 0 or 1, no traceback."""
    assert run.returncode in (0, 1), f"exit {run.returncode}\n{run.stdout}\n{run.stderr}"
    assert "Traceback" not in run.stderr, run.stderr
