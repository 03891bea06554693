"""The checkers check: each invariant of ``hostile.checks`` fails on what it must
catch (a checker that passes everything would make the whole suite vacuous)."""

from __future__ import annotations

import pytest

from hostile.checks import case_clashes, executable_html, fold, name_problem

POST = """---
layout: post
title: "t"
---
<!--0-->
[t](https://x.example/)
------

<div>
{body}
</div>
"""

RAW_ATTACKS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<a href="&#106;avascript:alert(1)">x</a>',
    '<a href=" \tjavascript:alert(1)">x</a>',
    '<a href="data:text/html,x">x</a>',
    '<img src="data:image/svg+xml,x">',
    '<img src="mailto:a@b">',
    '<img srcset="https://ok/a.jpg 1x, javascript:alert(1) 2x">',
    '<iframe src="https://x/"></iframe>',
    "<svg onload=alert(1)></svg>",
    "<style>p{}</style>",
    '<p style="color:red">x</p>',
    '<form action="https://x/"></form>',
    '<object data="https://x/"></object>',
    '<a href="vbscript:x">x</a>',
]


@pytest.mark.parametrize("attack", RAW_ATTACKS)
def test_executable_html_is_caught(attack: str) -> None:
    assert executable_html(POST.format(body=f"<p>before</p>\n{attack}\n<p>after</p>"))


def test_safe_html_passes() -> None:
    body = (
        '<p><a href="https://x.example/a">a</a> <a href="mailto:a@b.example">m</a></p>\n'
        '<figure><img src="https://x.example/i.jpg" alt="i"><figcaption>c</figcaption></figure>'
    )
    assert executable_html(POST.format(body=body)) == []


@pytest.mark.parametrize(
    "name",
    ["a/b", "a\\b", "a:b", "a?b", 'a"b', "a|b", "a*b", "a<b", "a\x01b", "CON", "nul.md",
     "com1.txt", "end.", "end ", "", "..", "e\u0301.md", "長" * 86],
)  # fmt: skip
def test_bad_names_are_caught(name: str) -> None:
    assert name_problem(name) is not None


def test_good_names_pass_and_case_twins_are_caught() -> None:
    for name in ("2026-11-20-新闻-标题.md", "a..b.md", "[x]-#1-{y}.md", "é.md"):
        assert name_problem(name) is None, name
    assert case_clashes(["A.md", "b.md", "a.md"]) == [("A.md", "a.md")]
    assert case_clashes(["Straße.md", "STRASSE.md"])


def test_fold() -> None:
    assert fold("  a\n b\x00\x01 c\u2028\ufffe d  ") == "a b c d"
    assert fold("a  b") == "a  b"  # only runs around control characters are folded
