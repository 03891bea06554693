"""Feed parsing: golden files in tests/data/feeds plus the safety cases.

Each ``<name>.<ext>`` there has ``<name>.expected.json`` beside it holding the
call's arguments and the expected ParsedSource (or ``error``: ParseError's reason).
After a deliberate change, ``UPDATE_GOLDEN=1 pytest tests/test_feed.py`` rewrites
them; review the diff.
"""

from __future__ import annotations

import json
import time
import tracemalloc
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from conftest import check_golden
from hypothesis import given, settings
from hypothesis import strategies as st

from scraper.charset import decode_body
from scraper.dates import parse_datetime
from scraper.errors import ParseError
from scraper.sources.feed import parse_feed
from scraper.types import Entry, ParsedSource

DATA = Path(__file__).parent / "data" / "feeds"
CASES = sorted(p for p in DATA.iterdir() if not p.name.endswith(".expected.json"))
SG = ZoneInfo("Asia/Singapore")


def _expected_path(case: Path) -> Path:
    return case.with_name(case.name.split(".")[0] + ".expected.json")


def _entry_json(entry: Entry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "link": entry.link,
        "title": entry.title,
        "published": entry.published.isoformat() if entry.published else None,
        "author": entry.author,
        "tags": list(entry.tags),
        "content": entry.content,
    }


def _run(case: Path, args: dict[str, Any]) -> dict[str, Any]:
    try:
        parsed = parse_feed(
            case.read_bytes(),
            args["url"],
            default_tz=ZoneInfo(args.get("default_tz", "UTC")),
            content_type=args.get("content_type"),
        )
    except ParseError as exc:
        assert exc.url == args["url"]
        return {"args": args, "error": exc.reason}
    return {
        "args": args,
        "title": parsed.title,
        "problem": parsed.problem,
        "entries": [_entry_json(e) for e in parsed.entries],
    }


@pytest.mark.parametrize("case", CASES, ids=[p.name for p in CASES])
def test_golden(case: Path) -> None:
    expected_path = _expected_path(case)
    args = json.loads(expected_path.read_text(encoding="utf-8"))["args"]
    check_golden(_run(case, args), expected_path)


def test_every_fixture_has_expectations() -> None:
    assert len(CASES) >= 15
    for case in CASES:
        assert _expected_path(case).exists(), case.name


def _parse(name: str, **kwargs: Any) -> ParsedSource:
    return parse_feed((DATA / name).read_bytes(), "https://example.com/feed", **kwargs)


# --- encodings ---------------------------------------------------------------


def test_gbk_feed_gives_chinese() -> None:
    parsed = _parse("gbk.xml")
    assert parsed.title == "联合早报 即时新闻（GBK 编码）"
    assert parsed.entries[0].title == "朱镕基旧作再版 读者排队购书"
    assert "“书店提早一小时开门。”" in (parsed.entries[0].content or "")
    assert parsed.problem is None


def test_gb2312_label_with_gbk_only_characters() -> None:
    parsed = _parse("gb2312.xml")
    assert [e.title for e in parsed.entries] == [
        "朱镕基旧作再版 读者排队购书",
        "陶喆与王堃同台 演唱会门票售罄",
    ]
    assert parsed.problem is None


def test_a_stray_byte_in_gbk_is_replaced_not_mojibake() -> None:
    parsed = _parse("gbk-damaged.xml")
    assert "北京一家\ufffd书店" in (parsed.entries[0].content or "")
    assert parsed.entries[1].title == "新加坡 组屋转售价格连续第三季下滑"
    assert parsed.problem == "1 invalid byte sequence(s) for gb18030 replaced"


@pytest.mark.parametrize("label", ["x-gbk", "GBK", "cp936", "GB18030"])
def test_chinese_encoding_labels(label: str) -> None:
    body = (
        (DATA / "gbk.xml").read_bytes().replace(b'encoding="gbk"', f'encoding="{label}"'.encode())
    )
    assert parse_feed(body, "https://example.com/").entries[1].tags == ("新加坡",)


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be", "utf-8-sig"])
def test_unicode_encodings_with_and_without_bom(codec: str) -> None:
    text = (DATA / "zaobao-rsshub.xml").read_text(encoding="utf-8")
    text = text.replace('encoding="UTF-8"', 'encoding="utf-16"' if "16" in codec else "")
    parsed = parse_feed(text.encode(codec), "https://rsshub.app/zaobao")
    assert parsed.entries[0].title == "长江流域今冬降水偏少 多地启动抗旱应急响应"


def test_latin1_label_reads_windows_1252_punctuation() -> None:
    assert _parse("rss091.xml").entries[0].content == "The café serves crêpes – and coffee."


def test_utf8_label_on_windows_1252_bytes() -> None:
    body = '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><item>'
    body += "<title>Caf\u00e9 \u201cquoted\u201d</title><link>https://e.com/1</link></item></channel></rss>"
    parsed = parse_feed(body.encode("cp1252"), "https://e.com/")
    assert parsed.entries[0].title == "Café “quoted”"
    assert parsed.problem == "declared as utf-8 but read as cp1252"


# Undeclared East Asian feeds: no encoding in the XML declaration, no charset in
# the header. The fetcher's reading of the bytes (decode_body) is what reaches
# parse_feed, as in source_page.
JAPANESE_NEWS = [
    (
        "東京都、来月から新たな節電要請　企業に協力呼びかけ",
        "電力の需給が厳しくなる見通しを受けて、都は企業や家庭に協力を求めました。",
    ),
    (
        "日銀が金融政策決定会合　大規模緩和の維持を決定",
        "物価の動きを慎重に見極める必要があるとして、現在の政策を続けることを決めました。",
    ),
    (
        "大阪で記録的な大雨　一部の地域に避難指示",
        "気象台によりますと、雨は今夜遅くまで続く見込みで、土砂災害に警戒が必要です。",
    ),
    (
        "新型ロケットの打ち上げに成功　宇宙機構が発表",
        "ロケットは予定どおりの軌道に衛星を投入し、関係者から拍手がわき起こりました。",
    ),
    (
        "プロ野球、開幕戦は満員の観客でにぎわう",
        "球場の周りには朝早くからファンが列を作り、選手たちに声援を送っていました。",
    ),
]
KOREAN_NEWS = [
    (
        "서울시, 다음 달부터 대중교통 요금 인상",
        "시는 적자 누적으로 요금 조정이 불가피하다고 설명했습니다.",
    ),
    (
        "한국은행 기준금리 동결…물가 상승세 여전",
        "금융통화위원회는 물가 흐름을 더 지켜볼 필요가 있다고 밝혔습니다.",
    ),
    (
        "부산 해운대에 폭우…일부 지역 대피령",
        "기상청은 오늘 밤까지 많은 비가 내릴 것으로 예보했습니다.",
    ),
    (
        "국산 위성 발사 성공, 우주항공청 발표",
        "위성은 예정된 궤도에 진입해 지상국과 교신에 성공했습니다.",
    ),
    ("프로야구 개막전 만원 관중 몰려", "경기장 주변에는 아침부터 팬들이 길게 줄을 섰습니다."),
]
CHINESE_NEWS = [
    ("新加坡宣布新措施应对需求上升", "当局周四宣布新的措施，官员表示相关安排将在下个月逐步落实。"),
    (
        "中国央行维持贷款市场报价利率不变",
        "分析人士认为，这符合市场预期，未来仍有进一步调整的空间。",
    ),
    ("台風過境　多地停班停課", "氣象局表示，颱風中心預計今晚離開，民眾仍須注意強風豪雨。"),
]


def _undeclared_rss(items: list[tuple[str, str]]) -> str:
    """An RSS feed of ``items`` (title, text) titled by its first title's first word."""
    body = "".join(
        f"<item><title>{title}</title><link>https://news.example.jp/{n}</link>"
        f"<description>{text}</description></item>"
        for n, (title, text) in enumerate(items)
    )
    return (
        f'<?xml version="1.0"?>\n<rss version="2.0"><channel><title>{_first_word(items)}</title>'
        f"<link>https://news.example.jp/</link>{body}</channel></rss>"
    )


def _first_word(items: list[tuple[str, str]]) -> str:
    return items[0][0].replace("\u3000", " ").split()[0]


def _seen(title: str) -> str:
    """A title as the feed path gives it: whitespace (the ideographic space too) collapsed."""
    return " ".join(title.split())


def _parse_as_fetched(content: bytes) -> tuple[ParsedSource, str]:
    _, codec = decode_body(content, "application/rss+xml")
    return parse_feed(content, "https://news.example.jp/rss", encoding=codec), codec


@pytest.mark.parametrize(
    ("items", "encoding", "codec"),
    [
        (JAPANESE_NEWS, "euc_jp", "euc_jp"),
        (JAPANESE_NEWS, "shift_jis", "cp932"),
        (KOREAN_NEWS, "euc_kr", "cp949"),
        (KOREAN_NEWS, "cp949", "cp949"),
        (CHINESE_NEWS[:2], "gbk", "gb18030"),
        (CHINESE_NEWS[:2], "gb2312", "gb18030"),
        (CHINESE_NEWS[2:], "big5", "big5hkscs"),
    ],
)
def test_undeclared_east_asian_feeds_read_in_their_language(
    items: list[tuple[str, str]], encoding: str, codec: str
) -> None:
    parsed, used = _parse_as_fetched(_undeclared_rss(items).encode(encoding))
    assert used == codec
    assert [e.title for e in parsed.entries] == [_seen(title) for title, _ in items]
    assert items[0][1] in (parsed.entries[0].content or "")
    assert parsed.title == _first_word(items)
    assert parsed.problem is None


@pytest.mark.parametrize(
    ("title", "encoding", "codec"),
    [
        ("日銀が大規模緩和の維持を決定", "euc_jp", "euc_jp"),
        ("プロ野球、開幕戦はにぎわう", "euc_jp", "euc_jp"),
        ("한국은행 기준금리 동결", "euc_kr", "cp949"),
        ("프로야구 개막전 만원 관중", "euc_kr", "cp949"),
        ("中国新闻", "gbk", "gb18030"),
        ("台灣新聞", "big5", "big5hkscs"),
    ],
)
def test_a_feed_of_one_short_title_is_read_in_its_language(
    title: str, encoding: str, codec: str
) -> None:
    parsed, used = _parse_as_fetched(_undeclared_rss([(title, "")]).encode(encoding))
    assert used == codec
    assert parsed.entries[0].title == title


@pytest.mark.parametrize(
    ("label", "codec", "title"),
    [
        ("euc-kr", "cp949", "똠방각하 대중교통 요금"),  # 똠: Windows-949 only
        ("shift_jis", "cp932", "①株式会社㈱の決算"),  # ① ㈱: Windows-31J only
    ],
)
def test_declared_east_asian_labels_read_as_the_browsers_superset(
    label: str, codec: str, title: str
) -> None:
    body = f'<?xml version="1.0" encoding="{label}"?><rss version="2.0"><channel><item>'
    body += f"<title>{title}</title><link>https://e.com/1</link></item></channel></rss>"
    parsed = parse_feed(body.encode(codec), "https://e.com/")
    assert parsed.entries[0].title == title
    assert parsed.problem is None


# --- titles ------------------------------------------------------------------

_LEAKS = ("script", "alert", "boom", "track(", "<!", "-->", "DOCTYPE", "display", "color")


def test_atom_titles_are_the_text_a_reader_sees() -> None:
    parsed = _parse("titles-atom.xml")
    assert parsed.title == "Harbour Notes"
    assert [e.title for e in parsed.entries] == [
        "Ferry timetable changes from Monday",
        "Night market reopens",
        "Port strike ends",
        "Library extends its opening hours",
        "Bridge inspection passed",
        "Rain warning issued",
        "Use the <blink> tag sparingly",  # type="text": brackets are the title's words
        "Why <marquee> scrolls & <b> is bold",  # no type: text too, in Atom
        "Tides this week & next updated",
    ]
    for title in [parsed.title, *(e.title for e in parsed.entries)]:
        assert not any(leak in (title or "") for leak in _LEAKS), title


def test_rss_titles_with_markup_are_read_as_html() -> None:
    parsed = _parse("titles-rss.xml")
    assert parsed.title == "Town Crier"
    assert [e.title for e in parsed.entries] == [
        "Council votes on the budget",
        "School term starts early",
        "Museum reopens",
        "Market prices hold steady",
        "Tide tables for May",
        "Harbour dredging",
        "Fish & chips: 3 < 4 and a<b",  # no markup: kept, entities decoded
    ]
    for title in [parsed.title, *(e.title for e in parsed.entries)]:
        assert not any(leak in (title or "") for leak in _LEAKS), title


def test_atom03_escaped_titles_follow_their_declared_type() -> None:
    body = (
        '<feed version="0.3" xmlns="http://purl.org/atom/ns#">'
        '<title type="text/plain" mode="escaped">The &lt;blink&gt; tag, revisited</title>'
        '<entry><title type="text/plain" mode="escaped">Use the &lt;blink&gt; tag</title>'
        '<link rel="alternate" type="text/html" href="https://e.com/1"/><id>1</id></entry>'
        '<entry><title type="text/html" mode="escaped">&lt;!DOCTYPE html&gt;&lt;script&gt;'
        "x()&lt;/script&gt;Crazy &lt;b&gt;title&lt;/b&gt;</title>"
        '<link rel="alternate" type="text/html" href="https://e.com/2"/><id>2</id></entry>'
        "</feed>"
    )
    parsed = parse_feed(body.encode(), "https://e.com/atom")
    assert parsed.title == "The <blink> tag, revisited"
    assert [e.title for e in parsed.entries] == ["Use the <blink> tag", "Crazy title"]


def test_json_feed_titles_are_read_as_what_a_reader_sees() -> None:
    """JSON Feed declares no title type and real feeds put HTML in them: markup is
    read as HTML (scripts and comments dropped), other text kept as written."""
    body = json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "title": "Notes on &lt;blink&gt;",
            "items": [
                {
                    "id": "1",
                    "url": "https://e.com/1",
                    "title": "<b>Bold</b> &amp; co<script>x()</script>",
                },
                {"id": "2", "url": "https://e.com/2", "title": "3 < 4 <!-- hidden -->"},
            ],
        }
    )
    parsed = parse_feed(body.encode(), "https://e.com/feed.json")
    assert parsed.title == "Notes on <blink>"
    assert [e.title for e in parsed.entries] == ["Bold & co", "3 < 4"]


# --- safety ------------------------------------------------------------------


def _passwd_line() -> str:
    passwd = Path("/etc/passwd")
    return passwd.read_text().splitlines()[0] if passwd.exists() else "root:x:0:0:"


def _everything(parsed: ParsedSource) -> str:
    return repr(parsed)


def test_xxe_does_not_read_local_files() -> None:
    parsed = _parse("xxe.xml")
    assert _passwd_line() not in _everything(parsed)
    assert "root:" not in _everything(parsed)
    assert parsed.entries[0].link == "https://evil.example.com/1"
    assert parsed.problem is not None
    assert parsed.problem.startswith("removed a DOCTYPE that declares entities")


def _bounded(body: bytes) -> ParsedSource:
    tracemalloc.start()
    started = time.perf_counter()
    try:
        parsed = parse_feed(body, "https://lol.example.com/rss")
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert elapsed < 1.0
    assert peak < 5 * 1024 * 1024
    return parsed


def test_billion_laughs_returns_quickly_without_expanding() -> None:
    parsed = _bounded((DATA / "billion-laughs.xml").read_bytes())
    assert len(_everything(parsed)) < 10_000
    assert "lollollol" not in _everything(parsed)


def test_entity_filter_is_not_fooled_by_a_comment_in_the_prolog() -> None:
    # feedparser's own line-based filter stops at the "<a" inside the comment
    # and lets these declarations reach expat, which expands them.
    decls = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol;" if i == 1 else f"&lol{i - 1};") * 10}">' for i in range(1, 6)
    )
    body = (
        f'<?xml version="1.0"?><!-- <a> -->\n<!DOCTYPE r [\n{decls}\n]>\n'
        '<rss version="2.0"><channel><item><title>&lol5;</title>'
        "<link>https://lol.example.com/1</link></item></channel></rss>"
    )
    parsed = _bounded(body.encode())
    assert "lollol" not in _everything(parsed)
    assert parsed.entries[0].link == "https://lol.example.com/1"


def test_utf16_does_not_smuggle_entities_past_the_filter() -> None:
    parsed = _bounded((DATA / "billion-laughs.xml").read_text().encode("utf-16"))
    assert "lollollol" not in _everything(parsed)


@pytest.mark.parametrize("label", ["x-nonsense", "hex", "rot13", "utf-7", "unicode_escape"])
def test_odd_encoding_labels_read_as_utf8_and_keep_the_entity_filter(label: str) -> None:
    body = (DATA / "billion-laughs.xml").read_text().replace("utf-8", label, 1)
    parsed = _bounded(body.encode())
    assert "lollollol" not in _everything(parsed)
    assert parsed.problem is not None
    assert parsed.problem.startswith(f"unknown encoding {label}, read as utf-8")


def test_a_body_that_is_a_file_name_is_not_opened() -> None:
    with pytest.raises(ParseError):
        parse_feed(b"/etc/passwd", "https://e.com/")


def test_doctype_without_entities_is_kept_for_rss091() -> None:
    assert _parse("rss091.xml").problem is None


# --- entries -----------------------------------------------------------------


def test_zoneless_times_are_taken_in_the_sources_zone() -> None:
    entries = _parse("zoneless.xml", default_tz=SG).entries
    local = datetime(2021, 11, 18, 17, 28, tzinfo=SG)
    assert [e.published for e in entries[:4]] == [local] * 4
    assert entries[0].published is not None
    assert entries[0].published.utcoffset() == timedelta(hours=8)
    assert entries[6].published == datetime(2021, 11, 18, 9, 28, tzinfo=UTC)
    assert entries[8].published is None


def test_zoneless_times_default_to_utc() -> None:
    entries = _parse("zoneless.xml").entries
    assert entries[0].published == datetime(2021, 11, 18, 17, 28, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Thu, 18 Nov 2021 09:28:00 +0800", datetime(2021, 11, 18, 1, 28, tzinfo=UTC)),
        ("Thu, 18 Nov 2021 09:28:00 -0000", datetime(2021, 11, 18, 9, 28, tzinfo=UTC)),
        ("2021-11-18T17:28:00.5+08:00", datetime(2021, 11, 18, 9, 28, 0, 500000, tzinfo=UTC)),
        ("2021/11/18 17:28 +0800", datetime(2021, 11, 18, 9, 28, tzinfo=UTC)),
        ("2021年11月18日", datetime(2021, 11, 18, tzinfo=SG)),
        ("1969-07-20T20:17:40Z", datetime(1969, 7, 20, 20, 17, 40, tzinfo=UTC)),
        ("2021-02-30T10:00:00", None),
        ("", None),
        ("soon", None),
    ],
)
def test_feed_dates_parse(raw: str, expected: datetime | None) -> None:
    assert parse_datetime(raw, SG, years=None) == expected


def test_offsets_are_kept_as_written() -> None:
    published = _parse("rss2.xml").entries[0].published
    assert published is not None
    assert published.utcoffset() == timedelta(hours=8)
    assert published.tzinfo == timezone(timedelta(hours=8))


def test_malformed_feed_recovers_entries_and_reports_the_problem() -> None:
    parsed = _parse("malformed.xml")
    links = [e.link for e in parsed.entries]
    assert links[:2] == ["https://broken.example.com/1", "https://broken.example.com/2"]
    assert parsed.problem is not None
    assert parsed.problem.startswith("malformed XML at line 17:")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "empty body"),
        (b"  \n ", "empty body"),
        (b"<html><body><p>hi</p></body></html>", "not a feed: got an HTML page"),
        (b"<urlset><url><loc>https://e.com/</loc></url></urlset>", "not a feed"),
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": ', "invalid JSON at line 1"),
        (b'{"code": 200, "response": {"articles": []}}', "not a feed: JSON, but not a JSON Feed"),
        (b'{"version": "https://jsonfeed.org/version/1"}', "JSON Feed without an items list"),
    ],
)
def test_unreadable_bodies_raise_parse_error(body: bytes, reason: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_feed(body, "https://e.com/feed")
    assert caught.value.reason.startswith(reason)
    assert caught.value.url == "https://e.com/feed"


def test_empty_channel_is_readable() -> None:
    body = b'<rss version="2.0"><channel><title>Quiet</title></channel></rss>'
    assert parse_feed(body, "https://e.com/") == ParsedSource(entries=(), title="Quiet")


def test_feed_whose_entries_all_lack_links_reports_it() -> None:
    body = b'<rss version="2.0"><channel><item><title>x</title></item></channel></rss>'
    parsed = parse_feed(body, "https://e.com/")
    assert parsed.entries == ()
    assert parsed.problem == "none of the 1 entries has an http(s) link"


def test_at_most_10000_entries_first_of_each_id() -> None:
    items = "".join(f"<item><guid>https://e.com/{i % 10_500}</guid></item>" for i in range(10_600))
    body = f'<rss version="2.0"><channel>{items}</channel></rss>'.encode()
    entries = parse_feed(body, "https://e.com/").entries
    assert len(entries) == 10_000
    assert entries[0].id == "https://e.com/0"
    assert entries[-1].id == "https://e.com/9999"


def test_json_feed_detected_by_content_without_content_type() -> None:
    parsed = _parse("jsonfeed11.json")
    assert parsed.title == "JSON & Feed Example"
    assert parsed.entries[0].link == "https://json.example.com/posts/1001"


# --- robustness ----------------------------------------------------------------

_XMLISH = st.lists(
    st.sampled_from(
        [
            "<rss>",
            "<channel>",
            "<item>",
            "</item>",
            "<title>",
            "</title>",
            "<link>",
            "https://e.com/a",
            "</link>",
            "<guid>",
            "</guid>",
            "<pubDate>",
            "</pubDate>",
            "Thu, 18 Nov 2021 09:28:00",
            "<![CDATA[",
            "]]>",
            "<!DOCTYPE x [",
            "<!ENTITY a 'b'>",
            "]>",
            "&a;",
            "&amp;",
            "<",
            ">",
            '"',
            "中文",
            "\x00",
            "\ufffd",
            "<entry>",
            "</entry>",
            '<feed xmlns="http://www.w3.org/2005/Atom">',
            "<?xml version='1.0'?>",
            "{",
            "}",
        ]
    ),
    max_size=40,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(body=st.one_of(st.binary(max_size=300), _XMLISH.map(str.encode)))
def test_any_body_parses_or_raises_parse_error(body: bytes) -> None:
    try:
        parsed = parse_feed(body, "https://e.com/feed", default_tz=SG)
    except ParseError:
        return
    for entry in parsed.entries:
        assert entry.link.startswith(("http://", "https://"))
        assert "#" not in entry.link
        assert entry.published is None or entry.published.tzinfo is not None


@settings(max_examples=300, deadline=None)
@given(raw=st.text(max_size=40))
def test_feed_date_parsing_never_raises(raw: str) -> None:
    parsed = parse_datetime(raw, SG, years=None)
    assert parsed is None or parsed.tzinfo is not None
