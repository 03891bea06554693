"""What the hostile world serves: feeds anyone can write, pages that attack the
writer and the reader, bodies that attack memory. Builders only, no I/O (the gzip
bomb is made once per process and cached).
"""

from __future__ import annotations

import functools
import gzip
import json
import struct
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from html import escape

RSS = "application/rss+xml"
ATOM = "application/atom+xml"
JSON_FEED = "application/feed+json"
MiB = 1024 * 1024


@dataclass(frozen=True)
class Item:
    """A feed item. ``None`` leaves the element out; strings go in as given
    (escape them yourself with ``x()`` when they should be text)."""

    link: str | None
    title: str | None = "An item"
    guid: str | None = None
    date: str | None = "Fri, 20 Nov 2026 08:00:00 +0000"
    description: str | None = None
    extra: str = ""


def x(text: str) -> str:
    """Text escaped for XML character data."""
    return escape(text, quote=False)


def rss(items: Sequence[Item], *, prolog: str = "", title: str = "Hostile feed") -> str:
    parts = []
    for it in items:
        fields = [
            f"<title>{it.title}</title>" if it.title is not None else "",
            f"<link>{it.link}</link>" if it.link is not None else "",
            f'<guid isPermaLink="false">{it.guid}</guid>' if it.guid is not None else "",
            f"<pubDate>{it.date}</pubDate>" if it.date is not None else "",
            f"<description>{x(it.description)}</description>" if it.description else "",
            it.extra,
        ]
        parts.append("<item>" + "".join(fields) + "</item>")
    return (
        f'<?xml version="1.0" encoding="utf-8"?>\n{prolog}'
        f'<rss version="2.0"><channel><title>{title}</title><link>http://feed.example.test/</link>'
        f"<description>d</description>{''.join(parts)}</channel></rss>"
    )


def json_feed(items: Sequence[dict[str, object]]) -> str:
    """A JSON Feed 1.1: strings here may hold anything JSON can (NUL included)."""
    return json.dumps(
        {"version": "https://jsonfeed.org/version/1.1", "title": "Hostile JSON", "items": items}
    )


def paragraphs(marker: str, count: int = 3) -> list[str]:
    """Plain sentences long enough to be an article, each carrying ``marker``."""
    return [
        f"Paragraph {i} of {marker}: the council said on Thursday that the plan would be "
        f"phased in over the coming months, and officials promised to review it. [{marker}-{i}]"
        for i in range(1, count + 1)
    ]


def page(
    title: str,
    body_html: str,
    *,
    charset: str | None = "utf-8",
    head: str = "",
    escape_title: bool = True,
) -> str:
    """An article page: title in ``<title>``, og:title and ``<h1>``, the body in
    ``<article><div class="story">`` (the hostile site rule's body selector)."""
    shown = escape(title) if escape_title else title
    meta = f'<meta charset="{charset}">' if charset else ""
    return (
        f"<!doctype html><html><head>{meta}<title>{shown}</title>"
        f'<meta property="og:title" content="{escape(title)}">{head}</head><body>'
        f'<nav><a href="/">Home</a> <a href="/world">World</a></nav>'
        f'<article><h1>{shown}</h1><div class="story">{body_html}</div></article>'
        f"<footer>© Hostile News</footer></body></html>"
    )


def plain_page(title: str, marker: str) -> str:
    return page(title, "".join(f"<p>{escape(p)}</p>" for p in paragraphs(marker)))


# The site rule for the hostile host: title from <h1>, body from .story, so that
# what these tests check does not depend on the generic extractor's guesses.
RULE = """name: hostile
hosts: [hostile.example.test]
body: [article .story]
title: ['css:article h1']
"""


@dataclass(frozen=True)
class Attack:
    """A hostile article: its title (served as text in the page, and as the feed's
    title), what the title reads back as when it comes from the feed, and a body
    carrying the paragraphs of ``slug``.

    Front matter gives back the title with whitespace runs as one space and
    control characters folded (the format). A feed's title is also read as HTML
    the way feeds write it: tags dropped, entities decoded, zero-width characters
    (watermarks) removed, so ``feed_title`` says what remains of those."""

    slug: str
    title: str
    feed_title: str
    body: str = ""
    paragraphs: list[str] = field(default_factory=list)


def _attack(slug: str, title: str, feed_title: str | None = None) -> Attack:
    paras = paragraphs(slug)
    body = "".join(f"<p>{escape(p)}</p>" for p in paras)
    return Attack(slug, title, title if feed_title is None else feed_title, body, paras)


TITLE_ATTACKS: list[Attack] = [
    _attack("yaml-dashes", "---"),
    _attack("yaml-doc", '---\nlayout: evil\ntitle: "pwned"\n---'),
    _attack("yaml-colon", "Breaking: key: value # not a comment"),
    _attack("yaml-quotes", 'He said "no" and \'yes\' \\ backslash \\" end'),
    _attack("yaml-words", "null"),
    _attack("yaml-tag", "!!python/object/apply:os.system ['id']"),
    _attack("yaml-flow", "{a: 1, b: [2, 3]} & *alias ? key | > %"),
    _attack("md-link", "[click](javascript:alert(1)) *bold* _em_ # not a heading `code`"),
    _attack("md-html", "<b>bold</b> & <i>i</i> &lt;script&gt;", "bold & i <script>"),
    _attack("path-dotdot", "../../../../etc/passwd"),
    _attack("path-abs", "/etc/shadow"),
    _attack("path-win", "C:\\Windows\\System32\\..\\boot.ini"),
    _attack("path-dotdot-win", "..\\..\\..\\autoexec.bat"),
    _attack("devices", "CON"),
    _attack("devices-ext", "nul.txt"),
    _attack("trailing-dot", "ends with a dot."),
    _attack("controls", "A\x01B\x1b[31mC\x7fD\x85E\u2028F\u2029G\tH"),
    _attack("newlines", "line one\r\nline two\rline three\nline four"),
    _attack("rtl", "\u202eexe.txt \u200f שלום עולם \u200e مرحبا"),
    _attack("zero-width", "zero\u200bwidth\ufeffjoiner\u200d", "zerowidthjoiner"),
    _attack(
        "emoji",
        "👨‍👩‍👧 family 😀 and 𠜎 outside the BMP",
        "👨👩👧 family 😀 and 𠜎 outside the BMP",
    ),
    _attack("nfd", "Cafe\u0301 re\u0301sume\u0301"),
    _attack("long", "長" * 2000),
    _attack("long-ascii", "word " * 400),
    _attack("case-a", "Same Title Different Case"),
    _attack("case-b", "SAME TITLE DIFFERENT CASE"),
    _attack("script-title", "<script>alert(1)</script>Title", "Title"),
]

SCRIPT_BODIES: list[str] = [
    "<script>alert('s1')</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert('i1')>",
    '<img src="javascript:alert(2)">',
    '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">',
    '<img srcset="javascript:alert(3) 1x, https://ok.example/a.jpg 2x" src="https://ok.example/a.jpg">',
    '<a href="javascript:alert(4)">js link</a>',
    '<a href="JaVaScRiPt:alert(5)">mixed case</a>',
    '<a href="&#106;avascript:alert(6)">entity</a>',
    '<a href="  \tjavascript:alert(7)">spaces</a>',
    '<a href="java\nscript:alert(8)">newline</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">data link</a>',
    '<a href="vbscript:msgbox(9)">vb</a>',
    '<a href="ftp://ftp.example/x">ftp</a><a href="tel:123">tel</a>',  # not on the allowlist
    '<img src="mailto:a@b.example"><img src="ftp://ftp.example/a.jpg">',  # images: http(s)
    '<a href="https://ok.example/" onclick="alert(10)" onmouseover="alert(11)">handlers</a>',
    '<iframe src="https://evil.example/"></iframe>',
    '<iframe srcdoc="<script>alert(12)</script>"></iframe>',
    "<svg onload=alert(13)><circle r=1></circle></svg>",
    "<svg><script>alert(14)</script></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(15)></style></mglyph></table></mtext></math>",
    "<style>body { background: url(javascript:alert(16)) }</style>",
    '<p style="background:url(javascript:alert(17))">styled</p>',
    '<form action="javascript:alert(18)"><button formaction="javascript:alert(19)">go</button></form>',
    '<object data="javascript:alert(20)"></object><embed src="https://evil.example/x.swf">',
    '<base href="javascript:alert(21)//">',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(22)">',
    '<link rel="stylesheet" href="https://evil.example/x.css">',
    "<noscript><img src=x onerror=alert(23)></noscript>",
    '<img data-src="javascript:alert(24)" src="https://ok.example/p.gif">',
    '<video src="https://evil.example/v.mp4" poster="javascript:alert(25)"></video>',
    "<scr<script>ipt>alert(26)</scr</script>ipt>",
    "<!--<script>alert(27)</script>--><![CDATA[<script>alert(28)</script>]]>",
    '<template><script>alert(29)</script></template><details open ontoggle="alert(30)">d</details>',
    '<a href="https://ok.example/a"><img src="https://ok.example/b.jpg" alt="x&quot; onerror=&quot;alert(31)"></a>',
    "<div>\n\n    indented code after a blank line\n\n</div>",
    "<p>---</p><p>layout: evil</p>",
]
# In a feed's content (no page around it), a stray end tag tries to close the post's <div>.
BREAKOUT = "</div></div><script>alert(32)</script><div>"


def script_page_body(marker: str, *, breakout: bool = False) -> str:
    """Every injection in ``SCRIPT_BODIES`` between three good paragraphs."""
    paras = paragraphs(marker)
    return (
        f"<p>{escape(paras[0])}</p>"
        + "".join(SCRIPT_BODIES[: len(SCRIPT_BODIES) // 2])
        + f"<p>{escape(paras[1])}</p>"
        + "".join(SCRIPT_BODIES[len(SCRIPT_BODIES) // 2 :])
        + (BREAKOUT if breakout else "")
        + f"<p>{escape(paras[2])}</p>"
    )


# -- bodies that attack memory ---------------------------------------------


def zeros(total: int, chunk: int = MiB) -> Iterator[bytes]:
    block = b"<p>" + b"0" * (chunk - 7) + b"</p>\n"
    sent = 0
    while sent < total:
        piece = block[: total - sent]
        sent += len(piece)
        yield piece


@functools.cache
def gzip_bomb(mebibytes: int = 1024) -> bytes:
    """About 1 MiB of valid gzip that inflates to ``mebibytes`` MiB of zeros.

    Made in a second, not a minute: after a full flush deflate starts afresh, so
    every further MiB of zeros compresses to the same bytes, which are repeated;
    the trailer's CRC and size are then computed for the whole."""
    squeeze = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    block = bytes(MiB)
    head = squeeze.compress(block) + squeeze.flush(zlib.Z_FULL_FLUSH)
    again = squeeze.compress(block) + squeeze.flush(zlib.Z_FULL_FLUSH)
    end = squeeze.flush(zlib.Z_FINISH)[:-8]
    crc = 0
    for _ in range(mebibytes):
        crc = zlib.crc32(block, crc)
    trailer = struct.pack("<II", crc, (mebibytes * MiB) & 0xFFFFFFFF)
    return head + again * (mebibytes - 1) + end + trailer


def gzipped(data: bytes | str) -> bytes:
    return gzip.compress(data.encode("utf-8") if isinstance(data, str) else data)


# -- entities ---------------------------------------------------------------

BILLION_LAUGHS = """<!DOCTYPE rss [
<!ENTITY lol "lol">
<!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
<!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
<!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
<!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
<!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
<!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
"""


def xxe_prolog(path: str, url: str) -> str:
    """A DOCTYPE whose entities read a local file and fetch a URL."""
    return (
        f'<!DOCTYPE rss [<!ENTITY file SYSTEM "file://{path}">'
        f'<!ENTITY web SYSTEM "{url}"><!ENTITY % remote SYSTEM "{url}-dtd"> %remote;]>\n'
    )
