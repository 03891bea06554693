"""The title a reader sees, the headline and byline kept out of the body, and the
byline read into the author: extract_generic on small hand-written pages."""

from __future__ import annotations

import json

import pytest
from selectolax.lexbor import LexborHTMLParser

from scraper.extract.generic import extract_generic
from scraper.types import Extracted

URL = "https://news.example.org/2024/05/harbour-story.html"
PROSE = (
    "The harbour board met on Tuesday evening to hear the engineers' report on the old "
    "sea wall, which has been patched many times since it was built in the last century.",
    "Residents who live along the front told the board that the spring tides now reach "
    "their gardens, and several asked when the promised repairs would finally begin.",
    "The chief engineer said the work could start in the autumn if the money is found, "
    "and that a temporary barrier would be placed before the winter storms arrive.",
    "Board members agreed to publish the full report next week and to hold a public "
    "meeting in the town hall so that everyone can put questions to the engineers.",
)


def page(
    *,
    head: str = "",
    top: str = "",
    bottom: str = "",
    title_tag: str | None = "Sea wall repairs to start in autumn | Harbour Gazette",
) -> str:
    tag = f"<title>{title_tag}</title>" if title_tag is not None else ""
    paragraphs = "".join(f"<p>{text}</p>" for text in PROSE)
    return (
        f"<html><head><meta charset='utf-8'>{tag}{head}</head><body>"
        "<header><a href='/'>Harbour Gazette</a></header>"
        f"<article>{top}{paragraphs}{bottom}</article>"
        "<footer><p>Harbour Gazette, all rights reserved.</p></footer></body></html>"
    )


def ld_json(**fields: object) -> str:
    data = {"@context": "https://schema.org", "@type": "Article", **fields}
    return f'<script type="application/ld+json">{json.dumps(data)}</script>'


def extract(html: str) -> Extracted:
    return extract_generic(html, URL)


def lines_text(body: str) -> list[str]:
    """Each body line's text."""
    texts = []
    for line in body.split("\n"):
        root = LexborHTMLParser(line).body
        texts.append(" ".join((root.text() if root is not None else "").split()))
    return texts


def test_the_prose_is_extracted() -> None:
    """The fixture itself: the four paragraphs are the body."""
    result = extract(page())
    assert lines_text(result.body) == list(PROSE)


# ---- titles --------------------------------------------------------------------------


def test_ld_headline_that_is_a_description_loses_to_h1_and_og_title() -> None:
    head = ld_json(headline="port town on the northern coast", name="Sea wall repairs") + (
        '<meta property="og:title" content="Sea wall repairs">'
    )
    html = page(head=head, top="<h1>Sea wall repairs</h1>", title_tag="Sea wall repairs - Wiki")
    assert extract(html).title == "Sea wall repairs"


def test_ld_headline_unconfirmed_loses_to_h1_and_title_tag() -> None:
    head = ld_json(headline="A short description of the page")
    html = page(head=head, top="<h1>Sea wall repairs to start in autumn</h1>")
    assert extract(html).title == "Sea wall repairs to start in autumn"


def test_ld_headline_confirmed_is_kept() -> None:
    head = ld_json(headline="Sea wall repairs to start in autumn") + (
        '<meta property="og:title" content="Engineers report on the harbour">'
    )
    assert extract(page(head=head)).title == "Sea wall repairs to start in autumn"


def test_unconfirmed_sources_keep_the_order_of_trust() -> None:
    head = ld_json(headline="The LD headline") + '<meta property="og:title" content="OG title">'
    assert extract(page(head=head, top="<h1>The page heading</h1>")).title == "The LD headline"


def test_the_first_h1_may_be_the_site_logo() -> None:
    html = page(
        top="<h1><a href='https://news.example.org/'>Harbour Gazette</a></h1>"
        "<h1>Sea wall repairs to start in autumn</h1>",
        title_tag="Harbour Gazette - Sea wall repairs to start in autumn",
    )
    assert extract(html).title == "Sea wall repairs to start in autumn"


def test_title_tag_part_confirmed_by_h1_even_when_shorter() -> None:
    html = page(top="<h1>Tides</h1>", title_tag="Tides - The Harbour Encyclopaedia")
    assert extract(html).title == "Tides"


def test_empty_og_title_is_absent() -> None:
    head = '<meta property="og:title" content=""><meta name="twitter:title" content="  ">'
    html = page(head=head, title_tag="Sea wall repairs to start in autumn | Harbour Gazette")
    assert extract(html).title == "Sea wall repairs to start in autumn"


def test_parsely_title_when_nothing_else() -> None:
    head = '<meta name="parsely-title" content="Sea wall repairs to start in autumn">'
    assert extract(page(head=head, title_tag=None)).title == "Sea wall repairs to start in autumn"


def test_h1_when_no_title_tag_nor_metadata() -> None:
    html = page(top="<h1>Sea wall repairs to start in autumn</h1>", title_tag=None)
    assert extract(html).title == "Sea wall repairs to start in autumn"


@pytest.mark.parametrize(
    "head",
    [
        '<meta property="x:title dc:title" content="Sea wall repairs">',  # RDFa list
        '<meta name="DC.title" content="Sea wall repairs">',
    ],
)
def test_dublin_core_title_first_among_meta_titles(head: str) -> None:
    head += '<meta property="og:title" content="Shared on social media">'
    assert extract(page(head=head, title_tag="Unrelated tab title")).title == "Sea wall repairs"


# ---- the headline kept out of the body -----------------------------------------------

TITLE = "Sea wall repairs to start in autumn"


@pytest.mark.parametrize(
    "top",
    [
        f"<h1>{TITLE}</h1>",
        f"<h2>{TITLE}</h2>",
        "<h1>Sea Wall Repairs to Start in Autumn!</h1>",  # case and punctuation aside
        f"<h2>{TITLE} | Harbour Gazette</h2>",  # with the site's name
        f"<p><strong>{TITLE}</strong></p>",
        f"<h2>Harbour news</h2><h1>{TITLE}</h1>",  # within the first lines
    ],
)
def test_headline_repeated_at_the_top_is_dropped(top: str) -> None:
    result = extract(page(top=top))
    assert result.title == TITLE
    assert TITLE.casefold() not in result.body.casefold()
    assert lines_text(result.body)[-4:] == list(PROSE)


def test_other_statement_of_the_title_dropped_too() -> None:
    """The og:title and the <h1> agree; the <title> says it otherwise."""
    head = '<meta property="og:title" content="Harbour wall to be mended">'
    html = page(head=head, top="<h1>Harbour wall to be mended</h1>", title_tag=TITLE)
    result = extract(html)
    assert result.title == "Harbour wall to be mended"
    assert lines_text(result.body) == list(PROSE)


def test_heading_that_is_not_the_headline_is_kept() -> None:
    head = f'<meta property="og:title" content="{TITLE}">'
    result = extract(page(head=head, top="<h1>Chapter two: the engineers</h1>"))
    assert result.title == TITLE
    assert lines_text(result.body)[0] == "Chapter two: the engineers"


def test_headline_deeper_in_the_body_is_kept() -> None:
    paragraphs = "".join(f"<p>{text}</p>" for text in PROSE)
    html = page(bottom=f"<h2>{TITLE}</h2>{paragraphs}")
    assert TITLE in lines_text(extract(html).body)


# ---- bylines ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("top", "author"),
    [
        ("<p>By Jane Doe</p>", "Jane Doe"),
        (
            "<p>By <a href='/staff/jd'>Jane Doe</a> and John Roe | May 3, 2024</p>",
            "Jane Doe and John Roe",
        ),
        ("<p>BY JANE DOE</p>", "JANE DOE"),
        ("<p>Jane Doe, Reuters</p>", "Jane Doe, Reuters"),
        ("<p>By <a href='/author/jane-doe/'>Jane Doe</a></p>", "Jane Doe"),
        ("<p>文／记者 张三</p>", "张三"),
        ("<p>作者：李四</p>", "李四"),
        ("<p>記者 山田太郎</p>", "山田太郎"),
        ("<p>Par Marie Dupont</p>", "Marie Dupont"),
    ],
)
def test_byline_dropped_and_read_into_author(top: str, author: str) -> None:
    result = extract(page(top=f"<h1>{TITLE}</h1>{top}"))
    assert result.author == author
    assert lines_text(result.body) == list(PROSE)


@pytest.mark.parametrize(
    "bottom", ["<p>By Jane Doe</p>", "<h5><a href='/author/jane-doe/'>Jane Doe</a></h5>"]
)
def test_byline_at_the_bottom(bottom: str) -> None:
    result = extract(page(bottom=bottom))
    assert result.author == "Jane Doe"
    assert lines_text(result.body) == list(PROSE)


def test_byline_does_not_override_metadata_author() -> None:
    head = '<meta name="author" content="Harbour Desk">'
    result = extract(page(head=head, top="<p>By Jane Doe</p>"))
    assert result.author == "Harbour Desk"
    assert lines_text(result.body) == list(PROSE)


@pytest.mark.parametrize(
    "prose",
    [
        "By 2030, the board expects the new wall to protect every house on the front.",
        "By the time the engineers arrived, the tide had already reached the road.",
        "By Tuesday evening the board had heard enough.",
        "By contrast, the old pier needs no work.",
        "By Far The Best Harbour: Why We Love It",
        "Photo by Jane Doe",
    ],
)
def test_prose_starting_like_a_byline_is_kept(prose: str) -> None:
    result = extract(page(top=f"<p>{prose}</p>"))
    assert result.author is None
    assert lines_text(result.body)[0] == prose


# ---- the byline element in the page ----------------------------------------------------


@pytest.mark.parametrize(
    ("byline", "author"),
    [
        ('<span class="byline">By Jane Doe | May 3, 2024</span>', "Jane Doe"),
        ('<a rel="author" href="/people/jd">Jane Doe</a>', "Jane Doe"),
        (
            '<div itemprop="author" itemscope><span itemprop="name">Jane Doe</span>'
            "<span>Harbour correspondent</span></div>",
            "Jane Doe",
        ),
        # the more precise of two of a kind
        (
            '<div class="author">Jane Doe <span class="author-name">Jane Doe</span></div>',
            "Jane Doe",
        ),
        ('<p class="article-author">Jane Doe — Tuesday 14 May 2024</p>', "Jane Doe"),
    ],
)
def test_byline_element_read_into_author(byline: str, author: str) -> None:
    html = page(top=f"<div class='meta'>{byline}</div><h1>{TITLE}</h1>")
    result = extract(html)
    assert result.author == author
    assert lines_text(result.body) == list(PROSE)


@pytest.mark.parametrize(
    "elsewhere",
    [
        '<div class="comments"><div class="comment-author">Sam Reader</div></div>',
        '<aside><span class="byline">By Other Writer</span></aside>',
        '<div class="author-bio">Jane Doe has covered the harbour for the Gazette since '
        "she left the university, and she writes about boats on weekends.</div>",
        '<td class="authority-control">Harbour Board</td>',
        '<span class="byline">By the harbour</span>',
    ],
)
def test_not_a_byline_element(elsewhere: str) -> None:
    assert extract(page(bottom=elsewhere)).author is None


def test_byline_element_does_not_override_metadata_author() -> None:
    head = '<meta name="author" content="Harbour Desk">'
    html = page(head=head, top='<span class="byline">By Jane Doe</span>')
    assert extract(html).author == "Harbour Desk"


@pytest.mark.parametrize(
    ("head", "author"),
    [
        ('<meta name="byl" content="By Jane Doe">', "Jane Doe"),
        (ld_json(author={"@type": "Person", "name": "By Jane Doe"}), "Jane Doe"),
        (
            '<meta property="dc:creator" content="Jane Doe"><meta name="author" content="X">',
            "Jane Doe",
        ),
        ('<meta property="article:author_name" content="Jane Doe">', "Jane Doe"),
    ],
)
def test_metadata_author(head: str, author: str) -> None:
    assert extract(page(head=head)).author == author
