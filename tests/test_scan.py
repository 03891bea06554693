"""The body walk: what it collects, what it skips, and the region lookup."""

from __future__ import annotations

from selectolax.lexbor import LexborHTMLParser

from scraper.extract.scan import scan_body

PAGE = """<html><head><title>T</title></head><body>
<div id="main"><p>one</p><script type="application/ld+json">{"a": 1}</script>
  <svg><title>icon</title><text>inside svg</text></svg>
  <table><tr><td>cell</td></tr></table>
  <video><p>no video</p></video>
  <div id="inner"><pre>code</pre><time datetime="2024-01-02">2 Jan</time></div>
</div>
<p>after</p><meta itemprop="datePublished" content="2024-01-02"><script>x()</script>
</body></html>"""


def _scan():
    tree = LexborHTMLParser(PAGE)
    assert tree.body is not None
    return tree, scan_body(tree.body)


def test_collects_in_page_order_and_skips_the_inside_of_junk() -> None:
    _, scan = _scan()
    assert [n.text() for n in scan.prose] == ["one", "code", "after"]
    assert [n.tag for n in scan.blocks] == ["div", "p", "td", "div", "pre", "p"]
    assert [n.tag for n in scan.junk] == ["script", "svg", "video", "meta", "script"]
    assert [n.tag for n in scan.sources] == ["script", "time", "meta", "script"]


def test_remove_junk_removes_outermost_junk_only_once() -> None:
    tree, scan = _scan()
    scan.remove_junk()
    assert tree.body is not None
    html = tree.body.html or ""
    assert (
        "icon" not in html
        and "inside svg" not in html
        and "no video" not in html
        and "x()" not in html
    )
    assert "one" in html and "cell" in html and scan.junk == []


def test_blocks_in_a_region() -> None:
    tree, scan = _scan()
    inner = tree.css_first("#inner")
    main = tree.css_first("#main")
    assert inner is not None and main is not None
    assert [n.tag for n in scan.blocks_in(inner)] == ["div", "pre"]
    assert [n.tag for n in scan.blocks_in(main)] == ["div", "p", "td", "div", "pre"]
    assert tree.body is not None
    assert len(scan.blocks_in(tree.body)) == len(scan.blocks)
