"""From the cleaner's flat token stream to body lines.

The tree walk in clean.py emits a flat stream: text, inline open/close tags, <br>,
images, finished blocks and wrapper boundaries. Here the stream is cut into blocks,
inline runs become paragraphs (or figures when they hold only images), whitespace is
collapsed and empty elements dropped.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["BLOCK", "BOUNDARY", "BR", "CLOSE", "IMG", "OPEN", "TEXT", "Token", "blocks",
           "escape_text", "nested_html"]  # fmt: skip

# Token kinds: (TEXT, str) (OPEN, tag, attr_html) (CLOSE, tag) (BR,) (IMG, html)
# (BLOCK, html) (BOUNDARY,)
TEXT, OPEN, CLOSE, BR, IMG, BLOCK, BOUNDARY = range(7)
Token = tuple[Any, ...]

_SPACE = re.compile(r"\s+")


def escape_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _segments(tokens: list[Token], split_br: bool) -> list[list[Token] | str]:
    """Cut the stream at blocks, wrapper boundaries and (if asked) runs of <br>.
    Inline elements open across a cut are closed before it and reopened after."""
    tokens = _drop_empty(tokens)
    result: list[list[Token] | str] = []
    stack: list[Token] = []
    current: list[Token] = []

    def cut() -> None:
        nonlocal current
        current.extend((CLOSE, o[1]) for o in reversed(stack))
        result.append(current)
        current = list(stack)

    i, n = 0, len(tokens)
    while i < n:
        tok = tokens[i]
        kind = tok[0]
        if kind == OPEN:
            stack.append(tok)
            current.append(tok)
        elif kind == CLOSE:
            if stack:
                stack.pop()
            current.append(tok)
        elif kind == BLOCK:
            cut()
            result.append(tok[1])
        elif kind == BOUNDARY:
            cut()
        elif kind == BR and split_br:
            j, brs = i + 1, 1
            while j < n and (
                tokens[j][0] == BR or (tokens[j][0] == TEXT and not tokens[j][1].strip())
            ):
                brs += tokens[j][0] == BR
                j += 1
            if brs >= 2:
                cut()
                i = j
                continue
            current.append(tok)
        else:
            current.append(tok)
        i += 1
    cut()
    return result


def _inline_html(run: list[Token]) -> tuple[str, bool, list[str]]:
    """Serialise one inline run: (html, has_text, images). Drops empty elements,
    collapses whitespace, trims the ends and leading/trailing <br>."""
    run = _drop_empty(_trim_breaks(run))
    out: list[list[Any]] = [list(t) for t in run]
    space_before = True
    last_text: list[Any] | None = None
    for tok in out:
        kind = tok[0]
        if kind == TEXT:
            text = tok[1]
            if "  " in text or not text.isprintable():  # else no run to collapse
                text = _SPACE.sub(" ", text)
            if space_before and text.startswith(" "):
                text = text[1:]
            tok[1] = text
            if text:
                space_before = text.endswith(" ")
                last_text = tok
        elif kind in (BR, IMG):
            if kind == BR and last_text is not None and last_text[1].endswith(" "):
                last_text[1] = last_text[1][:-1]
            space_before = kind == BR
            last_text = None
    if last_text is not None and last_text[1].endswith(" "):
        last_text[1] = last_text[1][:-1]
    parts: list[str] = []
    images: list[str] = []
    has_text = False
    for tok in out:
        kind = tok[0]
        if kind == TEXT:
            if tok[1]:
                has_text = True
                parts.append(escape_text(tok[1]))
        elif kind == OPEN:
            parts.append(f"<{tok[1]}{tok[2]}>")
        elif kind == CLOSE:
            parts.append(f"</{tok[1]}>")
        elif kind == BR:
            parts.append("<br>")
        elif kind == IMG:
            parts.append(tok[1])
            images.append(tok[1])
    return "".join(parts), has_text, images


def _trim_breaks(run: list[Token]) -> list[Token]:
    """Drop <br> before the first and after the last text or image of a run."""
    kept = list(run)
    for order in (range(len(kept)), range(len(kept) - 1, -1, -1)):
        for k in order:
            kind = kept[k][0]
            if kind == BR:
                kept[k] = (TEXT, "")
            elif kind == IMG or (kind == TEXT and kept[k][1].strip()):
                break
    return kept


def _drop_empty(run: list[Token]) -> list[Token]:
    """Remove inline elements holding no text and no image; whitespace-only ones
    become their whitespace."""
    result: list[Token] = []
    opens: list[int] = []
    last_content = -1  # where in ``result`` the last token that is not blank text is
    for tok in run:
        kind = tok[0]
        if kind == OPEN:
            opens.append(len(result))
            result.append(tok)
        elif kind == CLOSE:
            if not opens:
                continue
            start = opens.pop()
            if last_content > start:
                last_content = len(result)
                result.append(tok)
                continue
            space = any(t[1] for t in result[start + 1 :])  # (blank text only)
            del result[start:]
            if space:
                result.append((TEXT, " "))
        else:
            if kind != TEXT or tok[1].strip():
                last_content = len(result)
            result.append(tok)
    return result


def _blank(run: list[Token]) -> bool:
    """Only whitespace text (the indentation between blocks)."""
    return all(tok[0] == TEXT and tok[1].isspace() for tok in run)


def blocks(tokens: list[Token], leaf: str, *, figures: bool) -> list[str]:
    """Top-level (or paragraph/heading) content as block lines."""
    blocks: list[str] = []
    for seg in _segments(tokens, split_br=True):
        if isinstance(seg, str):
            blocks.append(seg)
            continue
        if not seg or _blank(seg):  # between two blocks
            continue
        html, has_text, images = _inline_html(seg)
        if has_text:
            blocks.append(f"<{leaf}>{html}</{leaf}>")
        elif images and figures:
            blocks.extend(f"<figure>{img}</figure>" for img in images)
    return blocks


def nested_html(tokens: list[Token]) -> str:
    """Flow content inside li/td/blockquote/caption: inline if it is one run,
    else its paragraphs and blocks side by side."""
    rendered: list[tuple[bool, str]] = []  # (is a block, html)
    lone_images: dict[int, list[str]] = {}
    for seg in _segments(tokens, split_br=True):
        if isinstance(seg, str):
            rendered.append((True, seg))
        elif seg:
            html, has_text, images = _inline_html(seg)
            if not has_text and images:
                lone_images[len(rendered)] = images
            if has_text or images:
                rendered.append((False, html))
    if len(rendered) == 1 and not rendered[0][0]:
        return rendered[0][1]
    parts: list[str] = []
    for k, (is_block, html) in enumerate(rendered):
        if k in lone_images:  # as a paragraph of its own, an image is a figure
            parts.extend(f"<figure>{img}</figure>" for img in lone_images[k])
        else:
            parts.append(html if is_block else f"<p>{html}</p>")
    return "".join(parts)
