"""JSON a page ships in a script: locating it, decoding JS string literals, paths, fields."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scraper.extract.hydrate import decode_js_string, find_hydrated, parse_path, resolve
from scraper.extract.rules import HydrationSource

SGT = timezone(timedelta(hours=8))
ZAOBAO = HydrationSource(
    after=r"window\.__staticRouterHydrationData\s*=\s*JSON\.parse\(\s*",
    encoding="json-string",
    path='loaderData["0-0"].context.payload.article',
    title="headline",
    published="create_time",
    body="body_cn",
    tags="tags",
    images="images",
)


def _script(article: object, *, quote: str = '"') -> str:
    data = {"loaderData": {"0": {}, "0-0": {"context": {"payload": {"article": article}}}}}
    literal = json.dumps(json.dumps(data, ensure_ascii=False), ensure_ascii=False)
    if quote == "'":
        literal = "'" + literal[1:-1].replace("'", "\\'").replace('\\"', '"') + "'"
    return f"window.__staticRouterHydrationData = JSON.parse({literal});"


def test_path_syntax() -> None:
    assert parse_path('loaderData["0-0"].context.payload.article') == (
        "loaderData",
        "0-0",
        "context",
        "payload",
        "article",
    )
    assert parse_path("a[0].b['c.d'][-1]") == ("a", 0, "b", "c.d", -1)
    assert parse_path("") == ()
    for bad in ("a..b", "a[", "[x]", "a.b c"):
        with pytest.raises(ValueError, match="cannot read the path"):
            parse_path(bad)


def test_resolve() -> None:
    data = {"a": [{"b": 1}, {"b": 2}], "0-0": {"x": None}}
    assert resolve(data, "a[1].b") == 2
    assert resolve(data, "a[-1].b") == 2
    assert resolve(data, '["0-0"].x') is None
    assert resolve(data, "a[5].b") is None
    assert resolve(data, "a.b") is None
    assert resolve([1, 2], "[0]") == 1


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        (r"\u003cp\u003e", "<p>"),
        (r"\x3cb\x3e", "<b>"),
        (r"it\'s \"q\" \\ \/", 'it\'s "q" \\ /'),
        (r"a\nb\tc", "a\nb\tc"),
        (r"\ud83d\ude00", "\U0001f600"),
        (r"\u{1F600}", "\U0001f600"),
        (r"\0", "\x00"),
        ("line\\\ncontinued", "linecontinued"),
        (r"\ud83d alone", "\ufffd alone"),
    ],
)
def test_js_string_escapes(literal: str, value: str) -> None:
    assert decode_js_string(literal) == value


@given(st.text())
def test_js_string_round_trip(text: str) -> None:
    assert decode_js_string(json.dumps(text)[1:-1]) == text


def test_zaobao_hydration_fields_and_time_forms() -> None:
    article = {
        "headline": " 标题 ",
        "create_time": 1760930740,
        "tags": [{"name": "欧盟"}, {"name": "稀土"}, {"slug": "x"}, "欧盟"],
        "images": [{"url": "https://s/a.jpg", "caption": "图"}, {"url": ""}, "https://s/b.jpg"],
        "body_cn": "<p>正文</p>",
    }
    got = find_hydrated([ZAOBAO], ["var x = 1;", _script(article)], SGT)
    assert got is not None
    assert got.title == "标题" and got.body == "<p>正文</p>"
    assert got.tags == ("欧盟", "稀土")
    assert got.images == (("https://s/a.jpg", "图"), ("https://s/b.jpg", ""))
    assert got.published == datetime(2025, 10, 20, 11, 25, 40, tzinfo=SGT)
    for when in (
        1760930740000,
        "1760930740",
        "2025-10-20T11:25:40+08:00",
        "2025-10-20 11:25:40",
        1760930740.0,
    ):
        got = find_hydrated([ZAOBAO], [_script({**article, "create_time": when})], SGT)
        assert got is not None and got.published == datetime(2025, 10, 20, 3, 25, 40, tzinfo=UTC)
    for junk in (None, "", "soon", 0, True, -5):
        got = find_hydrated([ZAOBAO], [_script({**article, "create_time": junk})], SGT)
        assert got is not None and got.published is None


def test_single_quoted_literal_and_plain_json() -> None:
    script = _script({"headline": "it's", "body_cn": "<p>x</p>"}, quote="'")
    got = find_hydrated([ZAOBAO], [script], UTC)
    assert got is not None and got.title == "it's"
    plain = HydrationSource(after=r"__NEXT_DATA__\s*=\s*", path="props.article", title="t")
    got = find_hydrated(
        [plain], ['self.__NEXT_DATA__ = {"props": {"article": {"t": "x"}}}; f()'], UTC
    )
    assert got is not None and got.title == "x"


@pytest.mark.parametrize(
    "script",
    [
        'window.__staticRouterHydrationData = JSON.parse("{not json");',
        'window.__staticRouterHydrationData = JSON.parse("{\\"loaderData\\": {}}");',
        'window.__staticRouterHydrationData = JSON.parse("unterminated',
        "window.__staticRouterHydrationData = JSON.parse(someVariable);",
        "nothing here",
    ],
)
def test_unusable_data_is_skipped(script: str) -> None:
    assert find_hydrated([ZAOBAO], [script], UTC) is None


def test_later_sources_and_scripts_are_tried() -> None:
    other = HydrationSource(after=r"__APP__\s*=", path="a", title="t")
    got = find_hydrated([ZAOBAO, other], ["x", 'window.__APP__ = {"a": {"t": "found"}}'], UTC)
    assert got is not None and got.title == "found"
