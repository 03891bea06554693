"""render.py: the archive format, line for line, for any title, author and tags."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from scraper import render as render_mod
from scraper.render import (
    check_relpath,
    flow_sequence,
    fold_line,
    format_date,
    front_matter_value,
    identity_suffix,
    is_portable_name,
    markdown_link,
    relpath_for,
    render,
    slugify,
    with_new_content,
    yaml_plain_or_quoted,
    yaml_quote,
)
from scraper.types import Article

DATA = Path(__file__).parent / "data" / "render"
SEED = Path(__file__).resolve().parents[2] / "shared" / "examples" / "seed-2021-11-22-zaobao.md"
SEED_URL = "https://www.zaobao.com/realtime/china/story20211122-1215883"
SEED_TITLE = "台北上海双城论坛12月1日举办"
KEYS = ["layout", "title", "date", "author", "from", "tags", "categories"]
FETCHED = datetime(2021, 11, 22, 4, 48, 56, 819000, tzinfo=UTC)

# What real titles throw at YAML, Markdown and file systems.
NASTY = [
    ":", ": ", "#", " #", '"', "'", "[", "]", "{", "}", "---", "\n", "\r\n", "\t", "\x00",
    "\x7f", "\x85", "\x9b", "\u2028", "\u2029", "\ufeff", "\ufffe", "\uffff", "\u200f",
    "\u202e", "\u200d", "😀", "👨‍👩‍👧", "العربية", "联合早报", "\\", "`", "*", "_", "<", ">",
    "&amp;", "(", ")", "/", "..", ".", "-", "- ", "? ", "!", "|", "%", "@", "&", "~", "yes",
    "null", "123", "1e3", "0x1F", "CON", "nul", "COM1", " ", "\u3000", "e\u0301", "\ud800",
]  # fmt: skip
nasty_text = st.lists(st.one_of(st.sampled_from(NASTY), st.characters()), max_size=40).map("".join)
CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")


def article(**changes: Any) -> Article:
    values: dict[str, Any] = {
        "id": SEED_URL,
        "url": SEED_URL,
        "title": SEED_TITLE,
        "body": "<p>正文</p>",
        "published": datetime(2021, 11, 22, 10, 57, tzinfo=UTC),
        "fetched": FETCHED,
        "author": "联合早报",
        "tags": ("联合早报",),
        "categories": ("联合早报",),
    }
    return Article(**{**values, **changes})


def split_file(text: str) -> tuple[list[str], list[str]]:
    """(front-matter lines, the lines after it)."""
    lines = text.split("\n")
    assert lines[0] == "---"
    end = lines.index("---", 1)
    return lines[1:end], lines[end + 1 :]


def load_front(text: str, loader: Any = yaml.SafeLoader) -> dict[str, Any]:
    front, _ = split_file(text)
    doc = yaml.load("\n".join(front), Loader=loader)
    assert isinstance(doc, dict)
    return doc


LOADERS = [yaml.SafeLoader] + ([yaml.CSafeLoader] if yaml.__with_libyaml__ else [])


# -- the reference file -----------------------------------------------------------


def seed_body_lines() -> list[str]:
    golden = (DATA / "zaobao-seed.md").read_text(encoding="utf-8")
    return [line for line in golden.split("\n") if line.startswith("<p>")]


def test_seed_article_renders_to_the_golden_file() -> None:
    golden = (DATA / "zaobao-seed.md").read_text(encoding="utf-8")
    text = render(article(body="\n".join(seed_body_lines())))
    assert text == golden
    assert len(seed_body_lines()) == 5


@pytest.mark.skipif(not SEED.exists(), reason="../shared/examples is not beside the repo")
def test_header_is_the_seed_files_line_for_line() -> None:
    seed_lines = SEED.read_text(encoding="utf-8").split("\n")
    ours = render(article(body="\n".join(seed_body_lines()))).split("\n")
    assert ours[:14] == seed_lines[:14]
    assert ours[-2:] == ["</div>", ""]


def test_date_is_the_earlier_of_published_and_fetched() -> None:
    # The seed's feed claimed 10:57Z, hours after we first saw it at 04:48:56.819Z;
    # the comment keeps the claimed time.
    text = render(article())
    assert load_front(text)["date"] == datetime(2021, 11, 22, 4, 48, 56, 819000, tzinfo=UTC)
    assert "date: 2021-11-22T04:48:56.819Z\n" in text
    assert "<!--1637578620000-->\n" in text
    earlier = datetime(2021, 11, 22, 1, 2, 3, 4567, tzinfo=UTC)
    text = render(article(published=earlier))
    assert "date: 2021-11-22T01:02:03.004Z\n" in text
    assert f"<!--{int(earlier.timestamp() * 1000)}-->" in text


def test_no_publication_time_uses_fetched_for_date_and_comment() -> None:
    text = render(article(published=None))
    assert "date: 2021-11-22T04:48:56.819Z\n" in text
    assert "<!--1637556536819-->\n" in text


def test_format_date_converts_to_utc_and_refuses_naive() -> None:
    singapore = timezone(timedelta(hours=8))
    assert format_date(datetime(2021, 11, 22, 18, 57, tzinfo=singapore)) == (
        "2021-11-22T10:57:00.000Z"
    )
    assert format_date(datetime(999, 1, 2, 3, 4, 5, 999999, tzinfo=UTC)) == (
        "0999-01-02T03:04:05.999Z"
    )
    with pytest.raises(ValueError, match="naive"):
        format_date(datetime(2021, 1, 1))


# -- YAML scalars ---------------------------------------------------------------------


@pytest.mark.parametrize("plain", ["联合早报", "post", "Reuters staff", "it's", "a:b", "C#"])
def test_plain_when_yaml_reads_it_back(plain: str) -> None:
    assert yaml_plain_or_quoted(plain) == plain


@pytest.mark.parametrize(
    "needs_quotes",
    ["yes", "No", "null", "~", "123", "1.5", "1e3", ": x", "#x", "- x", "[x", "{x", "a: b",
     "a #b", "x:", ":x", "<<", "=", "2021-11-22", ".inf", "@x", "`x", "!x", "&x", "*x", "|",
     ">", "%x", "'x'", '"x"', "", "\ufeffx"],
)  # fmt: skip
def test_quoted_when_plain_would_change_or_break(needs_quotes: str) -> None:
    out = yaml_plain_or_quoted(needs_quotes)
    assert out.startswith('"')
    assert yaml.safe_load(f"k: {out}") == {"k": needs_quotes}


def test_flow_items_quote_what_would_break_a_sequence() -> None:
    assert flow_sequence([]) == "[]"
    assert yaml.safe_load("k: []") == {"k": []}
    assert flow_sequence(["联合早报"]) == "[ 联合早报 ]"
    assert flow_sequence(["news", "联合早报"]) == "[ news, 联合早报 ]"
    items = ["a, b", "c]", "{d}", "https://x.example/a", "e#f", "yes"]
    out = flow_sequence(items)
    assert yaml.safe_load(f"k: {out}") == {"k": items}


def test_urls_stay_plain_in_from_and_quoted_in_flow() -> None:
    assert yaml_plain_or_quoted(SEED_URL) == SEED_URL
    assert yaml_plain_or_quoted(SEED_URL, flow=True) == f'"{SEED_URL}"'


def test_title_is_always_double_quoted_escaped_and_folded() -> None:
    assert yaml_quote('say "hi" \\ bye') == r'"say \"hi\" \\ bye"'
    assert yaml_quote("  a \n\t b\x00c\u2028 ") == '"a b c"'
    assert fold_line("line1\r\n  line2") == "line1 line2"
    assert fold_line("keep  two\u3000spaces") == "keep  two\u3000spaces"


def test_missing_author_is_null() -> None:
    text = render(article(author=None))
    assert "\nauthor: null\n" in text
    assert load_front(text)["author"] is None
    assert load_front(render(article(author="null")))["author"] == "null"


def test_extra_keys_follow_categories_in_order() -> None:
    extra = (("guid", "abc: 1"), ("image", "https://x.example/a.jpg"), ("updated", "2021"))
    doc = load_front(render(article(extra=extra)))
    assert list(doc) == [*KEYS, "guid", "image", "updated"]
    assert doc["guid"] == "abc: 1" and doc["updated"] == "2021"
    for bad in (("title", "x"),), (("a b", "x"),), (("x", "1"), ("x", "2")):
        with pytest.raises(ValueError, match="front-matter key"):
            render(article(extra=bad))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    title=nasty_text,
    author=st.one_of(st.none(), nasty_text),
    tags=st.lists(nasty_text, max_size=4),
    categories=st.lists(nasty_text, max_size=3),
)
def test_any_strings_parse_back_folded_in_key_order(
    title: str, author: str | None, tags: list[str], categories: list[str]
) -> None:
    a = article(title=title, author=author, tags=tuple(tags), categories=tuple(categories))
    text = render(a)
    for loader in LOADERS:
        doc = load_front(text, loader)
        assert list(doc) == KEYS
        assert doc["title"] == fold_line(title)
        assert doc["author"] == (None if author is None else fold_line(author))
        assert doc["tags"] == [fold_line(t) for t in tags]
        assert doc["categories"] == [fold_line(c) for c in categories]
        assert doc["from"] == SEED_URL
    assert not CONTROLS.search(doc["title"])
    text.encode("utf-8")  # no lone surrogates left
    front, after = split_file(text)
    assert len(front) == len(KEYS)
    assert after[0] == "<!--1637578620000-->"
    assert after[2:5] == ["------", "", "<div>"]
    assert_structure_survives_commonmark(text)
    assert_portable_path(relpath_for(a))


def test_a_2000_character_title() -> None:
    title = ("标题：“引号” [括号] #井号 " * 200)[:2000]
    text = render(article(title=title))
    assert load_front(text)["title"] == title.strip()
    relpath = relpath_for(article(title=title))
    assert_portable_path(relpath)
    assert len(relpath.rsplit("/", 1)[1].encode()) <= len("2021-11-22-") + 120 + len(".md")


# -- the Markdown lines ---------------------------------------------------------------


def test_link_line_escapes_title_and_percent_encodes_url() -> None:
    line = markdown_link("a [b] \\c <script>", "https://x.example/a b(c)<d>")
    assert line == r"[a \[b\] \\c \<script\>](https://x.example/a%20b%28c%29%3Cd%3E)"
    html = MarkdownIt("commonmark").renderInline(line)
    assert html == '<a href="https://x.example/a%20b%28c%29%3Cd%3E">a [b] \\c &lt;script&gt;</a>'


def assert_structure_survives_commonmark(text: str) -> None:
    """The comment, an <h2> link, and one HTML block holding the whole div."""
    tokens = MarkdownIt("commonmark").parse(text.split("\n---\n", 1)[1])
    kinds = [t.type for t in tokens]
    assert kinds == ["html_block", "heading_open", "inline", "heading_close", "html_block"]
    assert tokens[1].tag == "h2"
    assert next(c.type for c in tokens[2].children or []) == "link_open"
    assert tokens[4].content.startswith("<div>\n") and tokens[4].content.endswith("</div>\n")


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["", " ", "    ", "\t", "  \t"]),
            st.sampled_from(["<p>a</p>", "<pre>x&#10;  y</pre>", "<ul><li>i</li></ul>", "", "  "]),
            st.sampled_from(["\n", "\r\n", "\r", "\n\n", "\n \n"]),
        ),
        max_size=12,
    )
)
def test_body_stays_one_html_block(parts: list[tuple[str, str, str]]) -> None:
    body = "".join(indent + line + end for indent, line, end in parts)
    text = render(article(body=body))
    assert_structure_survives_commonmark(text)
    inside = text.split("<div>\n", 1)[1].rsplit("</div>\n", 1)[0]
    for line in inside.split("\n")[:-1]:
        assert line and not line[0].isspace()


def test_text_is_always_valid_utf8() -> None:
    text = render(article(title="a\ud800", body="<p>b\udc00</p>", url="https://x.example/\ud800"))
    assert "<p>b\ufffd</p>" in text
    assert "(https://x.example/%ED%A0%80)" in text
    text.encode("utf-8")


def test_empty_body_is_an_empty_div() -> None:
    assert render(article(body="")).endswith("\n------\n\n<div>\n</div>\n")
    assert render(article(body=" \n\n")).endswith("\n<div>\n</div>\n")


def test_kramdown_style_text_body_is_kept_whole() -> None:
    body = (
        '<p>一</p>\n<figure><img src="https://x.example/a.jpg"><figcaption>图</figcaption></figure>'
    )
    tokens = MarkdownIt("commonmark").parse(render(article(body=body)).split("\n---\n", 1)[1])
    assert tokens[-1].content == f"<div>\n{body}\n</div>\n"


# -- file names -----------------------------------------------------------------------

WINDOWS_FORBIDDEN = set('<>:"/\\|?*')
RESERVED = re.compile(r"^(CON|PRN|AUX|NUL|COM[1-9¹²³]|LPT[1-9¹²³])$", re.IGNORECASE)


def assert_portable_path(relpath: str) -> None:
    assert not relpath.startswith("/")
    for part in relpath.split("/"):
        assert part and part not in (".", "..")
        assert not WINDOWS_FORBIDDEN & set(part), part
        assert not CONTROLS.search(part), part
        assert not part.startswith(".") and not part.endswith((".", " "))
        assert not RESERVED.match(part.split(".")[0].rstrip())
        assert len(part.encode("utf-8")) <= 255
        assert unicodedata.is_normalized("NFC", part)


def test_default_path_is_posts_date_slug() -> None:
    assert relpath_for(article()) == f"_posts/2021-11-22-{SEED_TITLE}.md"
    assert relpath_for(article(), suffix="abc") == f"_posts/2021-11-22-{SEED_TITLE}-abc.md"
    # the file's date is the date: line's, in UTC
    late = datetime(2021, 11, 22, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
    assert relpath_for(article(published=None, fetched=late)).startswith("_posts/2021-11-23-")


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("下午察：那些闯入国会的特粉们", "下午察：那些闯入国会的特粉们"),
        ("a/b\\c", "a-b-c"),
        ('what? "yes" <no> | a*b', "what-yes-no-a-b"),
        ("  ..hidden. . ", "hidden"),
        ("line\nbreak\ttab\x00nul", "line-break-tab-nul"),
        ("a---b -- c", "a-b-c"),
        ("e\u0301", "é"),
        ("safe\u202egpj.exe", "safe-gpj.exe"),
        ("CON", ""),
        ("con.txt", ""),
        ("///", ""),
        ("3.5亿元", "3.5亿元"),
    ],
)
def test_slugify(title: str, slug: str) -> None:
    assert slugify(title) == slug


def test_slug_is_cut_on_a_character_boundary() -> None:
    slug = slugify("联" * 100)
    assert slug == "联" * 40 and len(slug.encode()) == 120
    assert slugify("a" + "联" * 50) == "a" + "联" * 39  # 119 bytes: no half character
    assert slugify("ab-" * 60, max_bytes=10) == "ab-ab-ab-a"
    assert slugify("ab-" * 60, max_bytes=9) == "ab-ab-ab"  # no trailing '-'


def test_empty_slug_falls_back_to_the_identity_suffix() -> None:
    a = article(title="???")
    assert relpath_for(a) == f"_posts/2021-11-22-{identity_suffix(a.id)}.md"


def test_identity_suffix_is_stable_and_short() -> None:
    assert identity_suffix(SEED_URL) == identity_suffix(SEED_URL)
    assert re.fullmatch(r"[0-9a-f]{8}", identity_suffix(SEED_URL))
    assert identity_suffix(SEED_URL) != identity_suffix(SEED_URL + "x")


def test_templates() -> None:
    a = article()
    assert relpath_for(a, template="{year}/{month}/{day}/{slug}.md") == (
        f"2021/11/22/{SEED_TITLE}.md"
    )
    assert relpath_for(a, template="zaobao/{date}-{id}.md", suffix="x") == (
        f"zaobao/2021-11-22-{identity_suffix(a.id)}-x.md"
    )
    assert relpath_for(a, template="{slug}", suffix="x") == f"{SEED_TITLE}-x"


@pytest.mark.parametrize(
    "template",
    ["/abs/{slug}.md", "../{slug}.md", "a/../{slug}.md", "a//{slug}.md", "./{slug}.md",
     "{source}/{slug}.md", "{slug.__class__}.md", "{slug", "C:/{slug}.md", "a\\{slug}.md",
     ".hidden/{slug}.md", "CON/{slug}.md", "a./{slug}.md", "{slug}.md/", "x" * 256],
)  # fmt: skip
def test_bad_templates_are_refused(template: str) -> None:
    with pytest.raises(ValueError):
        relpath_for(article(), template=template)


def test_check_relpath_and_portable_names() -> None:
    assert check_relpath("_posts/2021-11-22-a.md") == "_posts/2021-11-22-a.md"
    assert is_portable_name("a b.md")
    for bad in ["", ".", "..", ".x", "x.", "x ", "a:b", "a\x01", "nul", "LPT¹", "e\u0301"]:
        assert not is_portable_name(bad), bad


def test_slug_has_no_characters_that_break_a_jekyll_url() -> None:
    from scraper.render import slugify

    slug = slugify("S&P 500 #1: [draft] {x} 50% up? Trump's `plan` 台北^")
    assert slug == "S-P-500-1-draft-x-50-up-Trump-s-plan-台北"


# -- re-extraction: a new title and body in a file rendered before ---------------------


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    old_title=nasty_text,
    new_title=nasty_text,
    author=st.one_of(st.none(), nasty_text),
    tags=st.lists(nasty_text, max_size=3),
    body=st.sampled_from(["<p>new</p>", "<p>a</p>\n<p>b</p>", "  <p>x</p>\n\n<h2>h</h2>", ""]),
    extra=st.sampled_from([(), (("guid", "g: 1"),)]),
)
def test_new_content_in_a_rendered_file_is_what_render_would_write(
    old_title: str,
    new_title: str,
    author: str | None,
    tags: list[str],
    body: str,
    extra: tuple[tuple[str, str], ...],
) -> None:
    old = article(title=old_title, author=author, tags=tuple(tags), extra=extra)
    new = with_new_content(render(old), new_title, body)
    assert new == render(replace(old, title=new_title, body=body))


def test_new_content_refuses_a_file_not_laid_out_by_render() -> None:
    text = render(article())
    assert with_new_content(text.replace("------\n", "---\n"), "t", "<p>b</p>") is None
    assert with_new_content(text.replace("<div>\n", ""), "t", "<p>b</p>") is None
    assert with_new_content(text + "trailing\n", "t", "<p>b</p>") is None
    assert with_new_content("no front matter\n", "t", "<p>b</p>") is None
    assert with_new_content(text.replace("title: ", "name: "), "t", "<p>b</p>") is None


_WORDS = st.lists(
    st.sampled_from([*"aZé中文ñß²٣ 0", "yes", "No", "null", "True", "inf", "NaN", "y"]),
    min_size=1,
    max_size=6,
).map("".join) | st.text(st.characters(categories=["L", "N", "Zs"]), min_size=1, max_size=12)


@settings(max_examples=1500, deadline=None)
@given(_WORDS, st.booleans())
def test_the_plain_scalar_shortcut_agrees_with_the_yaml_parse(text: str, flow: bool) -> None:
    """Letters and digits between spaces are taken as plain without a parse: exactly
    when the parse (every reader's answer) would take them so."""
    folded = fold_line(text)
    fast = render_mod._plain_is_safe(folded, flow=flow)
    if folded and folded.replace(" ", "").isalnum():
        document = f"k: [ {folded} ]" if flow else f"k: {folded}"
        slow = folded[0] not in render_mod._PLAIN_BAD_START and (
            folded.lower() not in render_mod._PLAIN_WORDS
        )
        if slow:
            for loader in LOADERS:
                assert yaml.load(document, Loader=loader) == {"k": [folded] if flow else folded}
        assert fast == slow


_URL_CHARS = st.sampled_from([*"aZ09+.-:/?#[]@!$&'()*,;=%~_`{}|<>\\^\"", "://", ": ", " #", "#"])
_URLISH = st.tuples(
    st.sampled_from(["http", "https", "a", "z9+.-", "9x", "-x"]),
    st.sampled_from(["://", ":/", ": //"]),
    st.lists(_URL_CHARS, max_size=12).map("".join),
).map("".join)


@settings(max_examples=1500, deadline=None)
@given(_URLISH)
def test_the_plain_url_shortcut_agrees_with_the_yaml_parse(text: str) -> None:
    """A URL of printable ASCII without spaces is taken as plain without a parse
    (every post's ``from:``): only where every reader gives the string back."""
    fast = render_mod._PLAIN_URL.fullmatch(text) is not None
    if fast:
        assert render_mod._plain_is_safe(text, flow=False)
        for loader in LOADERS:
            assert yaml.load(f"k: {text}", Loader=loader) == {"k": text}


def test_the_plain_url_shortcut_refuses_what_yaml_reads_otherwise() -> None:
    for text in ("http://a/b:", "http://a #b", "9http://a", "http://a: b", "a b://c"):
        assert render_mod._PLAIN_URL.fullmatch(text) is None
    assert render_mod._PLAIN_URL.fullmatch("https://news.example/a?b=1&c=[2]#top")


def test_a_front_matter_value_is_read_from_its_line() -> None:
    text = render(article(title='A "quoted": title'))
    assert front_matter_value(text, "title") == 'A "quoted": title'
    assert front_matter_value(text, "from") == SEED_URL
    assert front_matter_value(text, "date") == FETCHED  # min(published, fetched)
    assert front_matter_value(text, "guid") is None  # not in the front matter
    assert front_matter_value(text + "guid: below the front matter\n", "guid") is None
