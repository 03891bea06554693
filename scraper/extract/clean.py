"""Body normalisation: an article's HTML fragment in, the archive's body lines out.

The output follows ../shared/spec/output-format.md "The body": one top-level block
per line, no empty lines, no line starting with whitespace, newlines inside ``<pre>``
written as ``&#10;``. The fragment is parsed once, junk is skipped while walking the
tree into a flat token stream, the stream is cut into blocks, and every line is
sanitised by nh3 last. ``clean_body`` is deterministic and idempotent.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from functools import partial

import nh3
from selectolax.lexbor import LexborHTMLParser, LexborNode

from scraper.extract.blocks import (
    BLOCK,
    BOUNDARY,
    BR,
    CLOSE,
    IMG,
    OPEN,
    TEXT,
    Token,
    blocks,
    escape_text,
    nested_html,
)
from scraper.extract.limits import bounded_html
from scraper.extract.measure import collapsed
from scraper.extract.media import (
    absolute_href,
    image_html,
    noscript_images_in_place,
    picture_image,
)
from scraper.extract.scan import TEXT_ID

__all__ = ["body_text_length", "clean_body", "clean_nodes", "has_junk"]

_JUNK_CHARS = re.compile("[\u200b\u200c\u200d\u2060\ufeff\x00-\x08\x0b-\x1f\x7f-\x9f]")
# The same characters found at C speed (the engine tests a class character by
# character, some fifty instructions each): the format characters by ``in``, the
# control characters in the UTF-8 bytes: those below 0x80 by deleting every other
# byte, the C1 ones (U+0080-U+009F) as the two bytes they are encoded as.
_FORMAT_JUNK = ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff")
_NOT_C0_JUNK = bytes(b for b in range(256) if not (b <= 8 or 11 <= b <= 31 or b == 127))
_C1_JUNK = re.compile(rb"\xc2[\x80-\x9f]")
_SPACE = re.compile(r"\s+")
_DISPLAY_NONE = re.compile(r"display\s*:\s*none", re.I)
_LINE_HEIGHT_0 = re.compile(r"line-height\s*:\s*0(?![.\d])", re.I)
_MAX_DEPTH = 150  # levels of markup kept; deeper, only the text

DROPPED = frozenset({
    "script", "style", "noscript", "iframe", "frame", "frameset", "object", "embed", "form",
    "input", "button", "select", "textarea", "option", "svg", "canvas", "template", "link",
    "meta", "nav", "aside", "footer", "header", "audio", "video", "source", "track", "map",
    "area", "dialog", "head", "title", "base", "param", "applet",
})  # fmt: skip
WRAPPERS = frozenset({
    "div", "section", "article", "main", "center", "address", "details", "summary", "hgroup",
    "body", "html", "fieldset", "legend", "caption", "li", "dt", "dd", "td", "th", "tr",
    "thead", "tbody", "tfoot", "figcaption",
})  # fmt: skip
KEPT_INLINE = frozenset({
    "a", "em", "strong", "b", "i", "u", "s", "sub", "sup", "small", "mark", "q", "cite",
    "abbr", "time", "del", "ins", "code",
})  # fmt: skip
RENAMED_INLINE = {"strike": "s", "tt": "code", "kbd": "code", "samp": "code", "var": "i"}
HEADINGS = {"h1": "h2", "h2": "h2", "h3": "h3", "h4": "h4", "h5": "h5", "h6": "h6"}

ALLOWED_TAGS = frozenset({
    "p", "br", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "blockquote", "pre", "code",
    "figure", "figcaption", "img", "a", "em", "strong", "b", "i", "u", "s", "sub", "sup",
    "table", "thead", "tbody", "tfoot", "tr", "th", "td", "caption", "hr", "small", "mark",
    "q", "cite", "abbr", "time", "del", "ins", "dl", "dt", "dd",
})  # fmt: skip

_CLEANER = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    attributes={
        "a": {"href", "title"},
        "img": {"src", "alt", "title", "width", "height"},
        "td": {"colspan", "rowspan"},
        "th": {"colspan", "rowspan"},
        "time": {"datetime"},
        "abbr": {"title"},
    },
    url_schemes={"http", "https", "mailto"},
    link_rel=None,
    strip_comments=True,
)
# The attributes nh3 keeps on each tag: the cleaner's own, and ammonia's generic ones.
_GENERIC_ATTRIBUTES = frozenset({"lang", "title"})
_KEPT_ATTRIBUTES = {
    tag: _GENERIC_ATTRIBUTES | names
    for tag, names in {
        "a": {"href"}, "time": {"datetime"}, "img": {"src", "alt", "width", "height"},
        "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan"},
    }.items()
}  # fmt: skip


def clean_body(fragment_html: str, base_url: str, *, strip: Sequence[str] = ()) -> str:
    """Normalise an article's HTML fragment into the archive's body lines."""
    if not fragment_html or not fragment_html.strip():
        return ""
    # Parsed as a document, not a fragment: selectolax treats a fragment's first node
    # as the whole fragment, and <body> gives one root to walk.
    tree = LexborHTMLParser(bounded_html(fragment_html))
    for selector in strip:
        for node in reversed(tree.css(selector)):
            node.decompose()
    noscript_images_in_place(tree)
    if tree.body is None:
        return ""
    return clean_nodes([tree.body], base_url)


def clean_nodes(nodes: Sequence[LexborNode], base_url: str) -> str:
    """``clean_body`` of elements already parsed (each one's content, in order),
    without serialising and parsing them again. The nodes' ``<noscript>`` images must
    already be in place (``noscript_images_in_place``)."""
    tokens: list[Token] = []
    # One search of all the text spares a substitution on every text node.
    junk = any(has_junk(node.text()) for node in nodes)
    walker = _Walker(base_url, junk=junk)
    for node in nodes:
        if node.tag == "body":
            walker.children(node, tokens, 0)
        else:
            walker.emit(node, tokens, 1)
    lines = []
    for block in blocks(tokens, "p", figures=True):
        if block in walker.sanitised or _sanitised(block):
            line = block
        else:
            line = _CLEANER.clean(block).replace("\n", "&#10;")
        if line:
            lines.append(line)
    return "\n".join(lines)


def has_junk(text: str) -> bool:
    """``_JUNK_CHARS.search(text) is not None``, several times faster."""
    if any(char in text for char in _FORMAT_JUNK):
        return True
    data = text.encode("utf-8", "surrogatepass")
    return bool(data.translate(None, _NOT_C0_JUNK)) or _C1_JUNK.search(data) is not None


# The paragraph and heading tags a line of escaped text only may be wrapped in.
_PLAIN_WRAPPERS = {"<p>": "</p>", **{f"<h{n}>": f"</h{n}>" for n in range(2, 7)}}
_ENTITY = re.compile(r"&(?!(?:amp|lt|gt);)")


def _sanitised(line: str) -> bool:
    """Whether nh3 would return ``line`` as it is: a ``<p>`` or heading of text that
    only escape_text's entities escape, with no character its parser rewrites or its
    serialiser escapes (no-break space, CR, NUL and other unprintables). Most lines
    are such; nh3 parses each line it is given as a document."""
    close = _PLAIN_WRAPPERS.get(line[:3]) or _PLAIN_WRAPPERS.get(line[:4])
    return (
        close is not None
        and line.endswith(close)
        and line.count("<") == 2
        and line.count(">") == 2
        and line.isprintable()
        and ("&" not in line or _ENTITY.search(line) is None)
    )


def body_text_length(body: str) -> int:
    """Non-space characters of text in a normalised body (counts CJK characters)."""
    if not body:
        return 0
    root = LexborHTMLParser(body).body
    text = root.text() if root is not None else ""
    return len("".join(text.split()))


def escape_attr(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;")


def _hidden(attrs: dict[str, str | None]) -> bool:
    if "hidden" in attrs or (attrs.get("aria-hidden") or "").strip().lower() == "true":
        return True
    style = attrs.get("style")
    return bool(style and "none" in style.lower() and _DISPLAY_NONE.search(style))


class _Walker:
    """Turns a (sub)tree into the flat token stream; knows what each tag becomes."""

    def __init__(self, base_url: str, *, junk: bool = True) -> None:
        self.base_url = base_url
        self._hrefs: dict[str | None, str | None] = {}
        # The text may hold invisible and control characters: remove them from it.
        self.unjunk: Callable[[str], str] = partial(_JUNK_CHARS.sub, "") if junk else str
        self.sanitised: set[str] = set()  # lines made of nothing nh3 would change
        self._safe_hrefs: dict[str, bool] = {}

    def href(self, value: str | None) -> str | None:
        """``absolute_href`` against the page's address, each value resolved once."""
        try:
            return self._hrefs[value]
        except KeyError:
            href = self._hrefs[value] = absolute_href(value, self.base_url)
            return href

    def children(self, node: LexborNode, out: list[Token], depth: int) -> None:
        unjunk = self.unjunk
        for child in node.iter(include_text=True):
            if child.tag_id == TEXT_ID:  # (most children: spared a call of emit)
                text = child.text_content
                if text:
                    out.append((TEXT, unjunk(text)))
            else:
                self.emit(child, out, depth + 1)

    def emit(self, node: LexborNode, out: list[Token], depth: int) -> None:
        if node.tag_id == TEXT_ID:
            text = node.text_content
            if text:
                out.append((TEXT, self.unjunk(text)))
            return
        tag = node.tag
        if not tag or tag[0] == "-" or tag in DROPPED:  # comments, junk
            return
        attrs = node.attributes
        if _hidden(attrs):
            return
        if depth > _MAX_DEPTH:  # pathological nesting: keep the words, drop the markup
            out.extend(((BOUNDARY,), (TEXT, self.unjunk(node.text())), (BOUNDARY,)))
            return
        if tag in KEPT_INLINE or tag in RENAMED_INLINE:
            self.inline(node, RENAMED_INLINE.get(tag, tag), attrs, out, depth)
        elif tag == "br":
            out.append((BR,))
        elif tag == "img":
            html = image_html(attrs, self.base_url)
            if html:
                out.append((IMG, html))
        elif tag == "picture":
            html = picture_image(node, self.base_url)
            if html:
                out.append((IMG, html))
        elif tag == "p" or tag in HEADINGS:
            leaf = HEADINGS.get(tag, "p")
            kids = list(node.iter(include_text=True))
            if _text_only(kids):  # most paragraphs
                text = collapsed(self.unjunk(node.text()))
                if text:
                    out.append((BLOCK, f"<{leaf}>{escape_text(text)}</{leaf}>"))
                return
            simple = self.simple_paragraph(node, leaf)
            if simple is not None:  # text with plain inline markup: serialised in C
                if simple:
                    out.append((BLOCK, simple))
                return
            sub: list[Token] = []
            for kid in kids:
                self.emit(kid, sub, depth + 1)
            out.extend((BLOCK, b) for b in blocks(sub, leaf, figures=True))
        elif tag in ("ul", "ol", "dl", "blockquote", "table", "figure", "pre", "hr"):
            getattr(self, "block_" + tag)(node, out, depth)
        elif tag in WRAPPERS:
            out.append((BOUNDARY,))
            self.children(node, out, depth)
            out.append((BOUNDARY,))
        elif tag == "span" and _LINE_HEIGHT_0.search(attrs.get("style") or ""):
            if self.unjunk(node.text()).strip():
                self.children(node, out, depth)
        else:  # span, font and unknown tags are transparent
            self.children(node, out, depth)

    def passed_over(self, line: str, sanitised: bool) -> str:
        """``line``, marked as one nh3 need not see when it is made only of runs nh3
        would leave as they are (``sanitised``) and nh3's serialiser would escape
        nothing in it (it is printable)."""
        if sanitised and line.isprintable():
            self.sanitised.add(line)
        return line

    def simple_paragraph(self, node: LexborNode, leaf: str) -> str | None:
        """A paragraph holding only text and plain inline elements (links, emphasis,
        spans) as one line, from lexbor's own serialisation; None for any other."""
        simple = self.simple_inline(node, sanitise=True)
        if simple is None:
            return None
        inner, sanitised = simple
        if not inner:
            return ""
        return self.passed_over(f"<{leaf}>{inner}</{leaf}>", sanitised)

    def simple_inline(self, node: LexborNode, *, sanitise: bool = False) -> tuple[str, bool] | None:
        """The content of an element holding only text and plain inline elements, as
        one run of inline HTML ("" when it has no text), and whether nh3 would leave
        it as it is; None for any other. With ``sanitise``, what nh3 would take out
        (attributes it does not keep, tags it unwraps) is taken out of the tree
        first, so that the run usually needs no nh3."""
        links = []
        moved: list[tuple[LexborNode, str]] = []  # links whose target is not yet absolute
        unwrapped: list[LexborNode] = []
        stripped: list[tuple[LexborNode, list[str]]] = []
        elements = node.traverse()
        attrs = next(elements).attributes  # the node itself first
        if attrs and _markup_in_values(attrs.values()):
            return None  # the serialisation is cut at tags: keep it unambiguous
        for element in elements:
            attrs = element.attributes
            if attrs and _markup_in_values(attrs.values()):
                return None
            tag = element.tag or ""
            if tag not in _SIMPLE_INLINE and "-" not in tag[1:]:  # custom elements too
                return None
            if attrs and (
                "hidden" in attrs
                or "aria-hidden" in attrs
                or ("style" in attrs and _RISKY_STYLE.search(attrs["style"] or ""))
            ):
                return None  # maybe hidden, or a line-height 0 trap: the slow path knows
            if tag == "a":
                href = self.href(attrs.get("href"))
                if href is None:
                    return None
                links.append((element, href))
                if href != attrs.get("href"):
                    moved.append((element, href))
            if not sanitise:
                continue
            if tag not in ALLOWED_TAGS:
                if tag != "-comment":  # (comments are cut from the serialisation)
                    unwrapped.append(element)
            elif attrs:
                kept = _KEPT_ATTRIBUTES.get(tag, _GENERIC_ATTRIBUTES)
                extra = [name for name in attrs if name not in kept]
                if extra:
                    stripped.append((element, extra))
        for link, href in moved:
            link.attrs["href"] = href
        if not self.unjunk(node.text()).strip():
            return "", True
        sanitised = sanitise and all(self.safe_href(href) for _, href in links)
        if sanitised and len(links) > 1:
            key = node.mem_id
            sanitised = not any(_inside(link, "a", key) for link, _ in links)
        for element, names in stripped:
            for name in names:
                del element.attrs[name]
        for element in reversed(unwrapped):
            element.unwrap()
        html = node.html or ""
        html = html[html.find(">") + 1 : html.rfind("<")].replace("&nbsp;", " ")
        if "<!--" in html:
            html = _COMMENT.sub("", html)
        if not html.isprintable():  # (the junk characters are all unprintable)
            html = _JUNK_CHARS.sub("", html)
        html = collapsed(html)
        while _maybe_empty_inline(html):  # inline elements left empty
            emptied = _EMPTY_INLINE.sub(r"\2", html)
            if emptied == html:
                break
            html = collapsed(emptied)
        if "> " in html or " <" in html:  # (else no space to take out)
            html = _inline_spaces(html)
        return html, sanitised

    def safe_href(self, href: str) -> bool:
        """Whether nh3 keeps this link target as it is (it drops one that the URL
        standard cannot parse); the commonest kinds are told, the rest say no.
        Decided once per site: the verdict reads the target only up to the end of
        its host and port, which comes at or before the first "/" after "://"."""
        slash = href.find("/", href.find("://") + 3)
        key = href if slash < 0 else href[:slash]
        safe = self._safe_hrefs.get(key)
        if safe is None:
            safe = self._safe_hrefs[key] = _safe_href(href)
        return safe

    def inline(
        self, node: LexborNode, tag: str, attrs: dict[str, str | None], out: list[Token], depth: int
    ) -> None:
        attr_html = ""
        if tag == "a":
            href = self.href(attrs.get("href"))
            if href is None:  # no usable target: keep the text only
                self.children(node, out, depth)
                return
            attr_html = f' href="{escape_attr(href)}"'
        for name in _INLINE_ATTRS.get(tag, ()):
            value = attrs.get(name)
            if value and value.strip():
                attr_html += f' {name}="{escape_attr(_SPACE.sub(" ", value).strip())}"'
        out.append((OPEN, tag, attr_html))
        self.children(node, out, depth)
        out.append((CLOSE, tag))

    def nested(self, node: LexborNode, depth: int) -> tuple[str, bool]:
        """Flow content of a list item, cell, quote or caption, as one line, and
        whether nh3 would leave it as it is once printable (escaped text, or plain
        inline markup it has nothing to take out of)."""
        if _text_only(list(node.iter(include_text=True))):  # most cells
            return escape_text(collapsed(self.unjunk(node.text()))), True
        simple = self.simple_inline(node, sanitise=True)
        if simple is not None:  # text with plain inline markup: serialised in C
            return simple
        sub: list[Token] = []
        self.children(node, sub, depth)
        return nested_html(sub), False

    def block_ul(self, node: LexborNode, out: list[Token], depth: int) -> None:
        items = []
        sanitised = True  # every item: a run nh3 would leave as it is
        for child in _element_children(node):
            if child.is_text_node:
                text = escape_text(self.unjunk(child.text_content or "")).strip()
                inner = _SPACE.sub(" ", text)
            elif child.tag in DROPPED or _hidden(child.attributes):
                continue
            elif child.tag == "li":
                inner, safe = self.nested(child, depth)
                sanitised = sanitised and safe
            else:
                sub: list[Token] = []
                self.emit(child, sub, depth + 1)
                inner = nested_html(sub)
                sanitised = False
            if inner:
                items.append(f"<li>{inner}</li>")
        if items:
            tag = node.tag
            line = f"<{tag}>{''.join(items)}</{tag}>"
            out.append((BLOCK, self.passed_over(line, sanitised)))

    block_ol = block_ul

    def block_dl(self, node: LexborNode, out: list[Token], depth: int) -> None:
        items: list[str] = []
        self._dl_items(node, items, depth)
        if items:
            out.append((BLOCK, f"<dl>{''.join(items)}</dl>"))

    def _dl_items(self, node: LexborNode, items: list[str], depth: int) -> None:
        for child in _element_children(node):
            if child.is_text_node:
                text = _SPACE.sub(" ", escape_text(self.unjunk(child.text_content or "")))
                if text.strip():
                    items.append(f"<dd>{text.strip()}</dd>")
            elif child.tag in DROPPED or _hidden(child.attributes):
                continue
            elif child.tag == "div" and depth < _MAX_DEPTH:
                self._dl_items(child, items, depth + 1)
            else:
                tag = child.tag if child.tag in ("dt", "dd") else "dd"
                inner = self.nested(child, depth)[0]
                if inner:
                    items.append(f"<{tag}>{inner}</{tag}>")

    def block_blockquote(self, node: LexborNode, out: list[Token], depth: int) -> None:
        inner, sanitised = self.nested(node, depth)
        if inner:
            line = f"<blockquote>{inner}</blockquote>"
            out.append((BLOCK, self.passed_over(line, sanitised)))

    def block_hr(self, node: LexborNode, out: list[Token], depth: int) -> None:
        out.append((BLOCK, "<hr>"))

    def block_pre(self, node: LexborNode, out: list[Token], depth: int) -> None:
        text = re.sub(r"^(?:[ \t]*\n)+", "", _pre_text(node)).rstrip()
        if not text:
            return
        kids = [c for c in node.iter(include_text=True) if not c.is_empty_text_node]
        code = len(kids) == 1 and kids[0].tag == "code"
        inner = f"<code>{escape_text(text)}</code>" if code else escape_text(text)
        out.append((BLOCK, f"<pre>{inner}</pre>"))

    def block_figure(self, node: LexborNode, out: list[Token], depth: int) -> None:
        caption: list[Token] = []
        body: list[Token] = []
        for child in node.iter(include_text=True):
            if child.tag == "figcaption" and not _hidden(child.attributes):
                caption.append((BOUNDARY,))
                self.children(child, caption, depth + 1)
            else:
                self.emit(child, body, depth + 1)
        images = [t[1] for t in body if t[0] == IMG]
        if not images:  # not a picture: its content and caption are plain flow
            out.extend(((BOUNDARY,), *body, *caption, (BOUNDARY,)))
            return
        caption_html = nested_html(caption)
        caption_html = f"<figcaption>{caption_html}</figcaption>" if caption_html else ""
        out.append((BLOCK, f"<figure>{''.join(images)}{caption_html}</figure>"))
        rest = [t for t in body if t[0] != IMG]
        if any(t[0] == BLOCK or (t[0] == TEXT and t[1].strip()) for t in rest):
            out.extend(((BOUNDARY,), *rest, (BOUNDARY,)))  # stray text in a figure is kept

    def block_table(self, node: LexborNode, out: list[Token], depth: int) -> None:
        captions: list[Token] = []
        sections: list[tuple[str, list[LexborNode]]] = []
        for child in node.iter():
            if child.tag == "caption":
                captions.append((BOUNDARY,))
                self.children(child, captions, depth + 1)
            elif child.tag in ("thead", "tbody", "tfoot"):
                rows = [r for r in child.iter() if r.tag == "tr"]
                sections.append((child.tag, rows))
            elif child.tag == "tr":
                sections.append(("tbody", [child]))
        caption = nested_html(captions)
        cells = [c for _, rows in sections for r in rows for c in r.iter() if c.tag in ("td", "th")]
        if len(cells) <= 1 and not caption:  # a layout table: its content is plain flow
            out.append((BOUNDARY,))
            for cell in cells:
                self.children(cell, out, depth + 2)
            out.append((BOUNDARY,))
            return
        html = [f"<caption>{caption}</caption>"] if caption else []
        has_content = bool(caption)
        sanitised = not caption  # every cell: a run nh3 would leave as it is
        for section, rows in sections:
            row_html = []
            for row in rows:
                row_cells = []
                for cell in row.iter():
                    if cell.tag not in ("td", "th"):
                        continue
                    inner, safe = self.nested(cell, depth + 1)
                    sanitised = sanitised and safe
                    has_content = has_content or bool(inner)
                    span = "".join(
                        f' {name}="{v}"'
                        for name in ("colspan", "rowspan")
                        if (v := (cell.attributes.get(name) or "").strip()).isdigit()
                    )
                    row_cells.append(f"<{cell.tag}{span}>{inner}</{cell.tag}>")
                if row_cells:
                    row_html.append(f"<tr>{''.join(row_cells)}</tr>")
            if row_html:
                html.append(f"<{section}>{''.join(row_html)}</{section}>")
        if has_content:
            line = f"<table>{''.join(html)}</table>"
            out.append((BLOCK, self.passed_over(line, sanitised)))


# Inline elements a paragraph may hold and still be copied from its serialisation
# (nh3 then keeps what is allowed, unwraps the rest such as span, font and custom
# elements, and drops comments).
_SIMPLE_INLINE = frozenset({
    "a", "em", "strong", "b", "i", "u", "s", "sub", "sup", "small", "mark", "cite", "span",
    "font", "code", "-comment", "q", "bdi",
})  # fmt: skip
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_RISKY_STYLE = re.compile(r"none|line-height|hidden", re.I)
_EMPTY_INLINE = re.compile(r"<([a-z][a-z0-9-]*)\b[^>]*>( ?)</\1>")

_TAG_SPLIT = re.compile(r"(<[^>]*>)")


# An http(s) address whose host is labels of letters, digits and hyphens (none in
# punycode, which the URL standard checks; the last not a number, which it reads as
# an IPv4 address) and whose port is in range.
_PLAIN_HOST_URL = re.compile(
    r"https?://(?:(?!xn--)[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)*(?!\d+\.?(?:[:/?#]|$)|0x|xn--)"
    r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.?(?::(\d{1,5}))?(?:[/?#]|$)",
    re.I,
)


def _safe_href(href: str) -> bool:
    if href.startswith("mailto:"):
        return True
    match = _PLAIN_HOST_URL.match(href)
    return match is not None and int(match.group(1) or 0) <= 65535


def _inside(node: LexborNode, tag: str, stop: int) -> bool:
    """Whether an ancestor of ``node`` below the element ``stop`` is a ``tag``."""
    parent = node.parent
    while parent is not None and parent.mem_id != stop:
        if parent.tag == tag:
            return True
        parent = parent.parent
    return False


def _text_only(kids: list[LexborNode]) -> bool:
    """Whether these children are all text (most often: one text node)."""
    if len(kids) == 1:
        return kids[0].tag_id == TEXT_ID
    return all(kid.tag_id == TEXT_ID for kid in kids)


def _markup_in_values(values: Iterable[str | None]) -> bool:
    joined = "".join(filter(None, values))
    return "<" in joined or ">" in joined


def _maybe_empty_inline(html: str) -> bool:
    """Whether ``_EMPTY_INLINE`` may match: a start tag right before ``</`` (or
    `` </``). Most runs have ``></`` only between two end tags (``</a></em>``); the
    last ``<`` before a ``>`` is its tag's own, as values holding ``<`` or ``>``
    never get here and text escapes them."""
    for gap in ("></", "> </"):
        at = html.find(gap)
        while at != -1:
            if html[html.rfind("<", 0, at) + 1] != "/":
                return True
            at = html.find(gap, at + 1)
    return False


def _inline_spaces(html: str) -> str:
    """No space right after another (tags between them aside), and none at the ends:
    what the token walk does, so that both paths agree and unwrapping a tag later
    leaves no double space."""
    parts = _TAG_SPLIT.split(html)  # text, tag, text, …, text
    space_before = True
    last = -1
    for index in range(0, len(parts), 2):
        text = parts[index]
        if space_before and text.startswith(" "):
            text = parts[index] = text[1:]
        if text:
            space_before = text.endswith(" ")
            last = index
    if last >= 0 and parts[last].endswith(" "):
        parts[last] = parts[last][:-1]
    return "".join(parts)


_INLINE_ATTRS: dict[str, tuple[str, ...]] = {
    "a": ("title",),
    "abbr": ("title",),
    "time": ("datetime",),
}


def _element_children(node: LexborNode) -> list[LexborNode]:
    return [c for c in node.iter(include_text=True) if c.is_element_node or c.is_text_node]


def _pre_text(node: LexborNode) -> str:
    """The text of a <pre>, <br> as a line break; iterative, for any depth."""
    parts: list[str] = []
    stack = list(node.iter(include_text=True))[::-1]
    while stack:
        child = stack.pop()
        if child.is_text_node:
            parts.append(_JUNK_CHARS.sub("", child.text_content or ""))
        elif child.is_element_node and child.tag not in DROPPED:
            if child.tag == "br":
                parts.append("\n")
            else:
                stack.extend(list(child.iter(include_text=True))[::-1])
    return "".join(parts)
