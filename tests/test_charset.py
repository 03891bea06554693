"""decode_body: every clue, every lie, and never Chinese mojibake."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scraper.charset import codec_for, declared_charset, decode_body, header_charset

SIMPLIFIED = (
    "台北上海双城论坛确定12月1日举办，据联合网报道，上海市台办主任将率团访问台北。"
    "两岸交流在疫情期间受到影响，但双方仍然保持沟通。"
)
TRADITIONAL = (
    "台北上海雙城論壇確定12月1日舉辦，據聯合網報導，上海市台辦主任將率團訪問台北。"
    "兩岸交流在疫情期間受到影響，但雙方仍然保持溝通。"
)
JAPANESE = (
    "政府は今日、物価高への対策として新しい経済対策をまとめました。"
    "家庭の電気料金やガソリン代の負担を軽くするための支援が中心となります。"
)
KOREAN = (
    "정부는 오늘 물가 상승에 대응하기 위한 새로운 경제 대책을 발표했습니다. "
    "가정의 전기 요금과 휘발유 가격 부담을 줄이기 위한 지원이 중심입니다."
)
BEYOND_GBK = "𠀀𪚥 欧元符号€ 和 ḿ"  # four-byte GB18030 sequences; none of these are in GBK
FRENCH = (
    "Le café est très bon à Paris. L'élève a reçu une récompense pour ses efforts. "
    "Où est la bibliothèque? Même là-bas, c'est déjà l'été."
)
PORTUGUESE = "As informações sobre a educação não estão disponíveis. A população começou às três."
GERMAN = "Grüße aus München! Die Straße ist schön, und die Bäume blühen. Übermorgen nach Köln."
ENGLISH_QUOTES = "He said “hello” — and then… nothing. It’s fine, isn’t it? The price was €5."
RUSSIAN = "Привет, как дела? Сегодня хорошая погода, и мы пойдём гулять в парк."

HTML = (
    "<!doctype html><html><head>{head}<title>{title}</title></head>"
    "<body><p>{body}</p></body></html>"
)


def page(text: str, encoding: str, head: str = "") -> bytes:
    return HTML.format(head=head, title=text[:8], body=text).encode(encoding)


def check(content: bytes, header: str | None, expected_text: str, expected_codec: str) -> None:
    text, codec = decode_body(content, header)
    assert expected_text in text, text[:200]
    assert codec == expected_codec
    assert content.decode(codec, "replace") == text


# --- Chinese without any declaration -------------------------------------------------


@pytest.mark.parametrize(
    ("text", "encoding", "codec"),
    [
        (SIMPLIFIED, "gbk", "gb18030"),
        (SIMPLIFIED, "gb2312", "gb18030"),
        (SIMPLIFIED + BEYOND_GBK, "gb18030", "gb18030"),
        (TRADITIONAL, "big5", "big5hkscs"),
        (TRADITIONAL, "big5hkscs", "big5hkscs"),
        (SIMPLIFIED, "utf-8", "utf-8"),
        (TRADITIONAL, "utf-8", "utf-8"),
    ],
)
def test_chinese_without_declaration(text: str, encoding: str, codec: str) -> None:
    check(page(text, encoding), None, text, codec)
    check(page(text, encoding), "text/html", text, codec)


def test_short_chinese_titles_without_declaration() -> None:
    check(page("中国新闻", "gbk"), None, "中国新闻", "gb18030")
    check(page("台灣新聞", "big5"), None, "台灣新聞", "big5hkscs")


# --- Japanese and Korean without any declaration -----------------------------------
# EUC-JP shares GB2312's kana rows, and EUC-KR's Hangul rows are GB2312's level-1
# rows: read as GB18030 both come out as plausible Chinese.


@pytest.mark.parametrize(
    ("text", "encoding", "codec"),
    [
        (JAPANESE, "euc_jp", "euc_jp"),
        (JAPANESE, "shift_jis", "cp932"),
        (JAPANESE, "cp932", "cp932"),
        (KOREAN, "euc_kr", "cp949"),
        (KOREAN, "cp949", "cp949"),
        (JAPANESE, "utf-8", "utf-8"),
        (KOREAN, "utf-8", "utf-8"),
    ],
)
def test_japanese_and_korean_without_declaration(text: str, encoding: str, codec: str) -> None:
    check(page(text, encoding), None, text, codec)
    check(page(text, encoding), "text/html", text, codec)
    check(page(text, encoding), "text/html; charset=iso-8859-1", text, codec)


@pytest.mark.parametrize(
    ("title", "encoding", "codec"),
    [
        ("日銀が緩和維持を決定", "euc_jp", "euc_jp"),
        ("大阪で記録的な大雨", "euc_jp", "euc_jp"),
        ("プロ野球が開幕", "euc_jp", "euc_jp"),
        ("日銀が緩和維持を決定", "shift_jis", "cp932"),
        ("한국은행 기준금리 동결", "euc_kr", "cp949"),
        ("부산 해운대에 폭우", "euc_kr", "cp949"),
        ("新加坡 组屋转售价格连续第三季下滑", "gbk", "gb18030"),  # a space, as in Korean
        ("朱镕基旧作再版 读者排队购书", "gbk", "gb18030"),
        ("臺灣選舉結果揭曉 投票率創新高", "big5", "big5hkscs"),
    ],
)
def test_short_titles_without_declaration(title: str, encoding: str, codec: str) -> None:
    check(HTML.format(head="", title=title, body=title).encode(encoding), None, title, codec)


CHINESE_WORDS = (  # noqa: SIM905
    "新加坡 政府 宣布 措施 当局 需求 官员 表示 安排 下个月 落实 总理 访问 经贸 合作 "
    "研究 人员 古籍 出现 整理 台北 上海 论坛 举办 交流 影响 双方 保持 沟通 光明 日报 "
    "客户端 广告 科技 频道 热门 评论 栏目 精粹 汽车 北京 大学 报道 记者"
).split()


@settings(max_examples=200, deadline=None)
@given(
    words=st.lists(st.sampled_from(CHINESE_WORDS), min_size=1, max_size=30),
    punctuation=st.sampled_from(["", "，", "。", "、"]),
    encoding=st.sampled_from(["gbk", "gb18030"]),
)
def test_chinese_is_never_read_as_japanese_or_korean(
    words: list[str], punctuation: str, encoding: str
) -> None:
    """Without kana there is no Japanese reading, without spaces no Korean one."""
    text = punctuation.join(words)
    _, codec = decode_body(page(text, encoding), None)
    assert codec not in ("euc_jp", "cp932", "cp949")


# --- Chinese behind a lying or default header ----------------------------------------


@pytest.mark.parametrize(
    "label", ["iso-8859-1", "ISO-8859-1", "latin1", "us-ascii", "windows-1252"]
)
@pytest.mark.parametrize(
    ("text", "encoding", "codec"),
    [
        (SIMPLIFIED, "gbk", "gb18030"),
        ("中国新闻", "gbk", "gb18030"),
        ("陈婧：东方不亮西方亮", "gbk", "gb18030"),  # a rare character in a name
        (SIMPLIFIED + BEYOND_GBK, "gb18030", "gb18030"),
        (TRADITIONAL, "big5", "big5hkscs"),
        (SIMPLIFIED, "utf-8", "utf-8"),
    ],
)
def test_single_byte_header_contradicted_by_cjk_body(
    label: str, text: str, encoding: str, codec: str
) -> None:
    check(page(text, encoding), f"text/html; charset={label}", text, codec)


def test_single_byte_header_loses_to_meta() -> None:
    body = page(SIMPLIFIED, "gbk", head='<meta charset="gbk">')
    check(body, "text/html; charset=ISO-8859-1", SIMPLIFIED, "gb18030")
    body = page(
        RUSSIAN,
        "cp1251",
        head='<meta http-equiv="Content-Type" content="text/html; charset=windows-1251">',
    )
    check(body, "text/html; charset=iso-8859-1", RUSSIAN, "cp1251")


def test_utf8_header_but_gbk_body_is_distrusted() -> None:
    check(page(SIMPLIFIED, "gbk"), "text/html; charset=utf-8", SIMPLIFIED, "gb18030")
    check(page(TRADITIONAL, "big5"), "text/html; charset=UTF-8", TRADITIONAL, "big5hkscs")


def test_gbk_header_but_utf8_body_is_distrusted() -> None:
    check(page(SIMPLIFIED, "utf-8"), "text/html; charset=gbk", SIMPLIFIED, "utf-8")


def test_header_gb2312_reads_gb18030_characters() -> None:
    text = SIMPLIFIED + BEYOND_GBK
    check(page(text, "gb18030"), 'text/html; charset="GB2312"', text, "gb18030")


def test_header_wins_over_meta_when_it_decodes() -> None:
    body = page(TRADITIONAL, "big5", head='<meta charset="utf-8">')
    check(body, "text/html; charset=big5", TRADITIONAL, "big5hkscs")


# --- byte-order marks -----------------------------------------------------------------


def test_bom_beats_the_header() -> None:
    check(
        codecs.BOM_UTF8 + page(SIMPLIFIED, "utf-8"),
        "text/html; charset=gbk",
        SIMPLIFIED,
        "utf-8-sig",
    )
    text, _ = decode_body(codecs.BOM_UTF8 + b"<p>x</p>", None)
    assert text == "<p>x</p>"


@pytest.mark.parametrize(
    "bom, encoding", [(codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")]
)
def test_utf16_bom(bom: bytes, encoding: str) -> None:
    content = bom + page(TRADITIONAL, encoding)
    text, codec = decode_body(content, "text/html; charset=iso-8859-1")
    assert codec == "utf-16"
    assert text.startswith("<!doctype html>")
    assert TRADITIONAL in text


# --- declarations inside the document -------------------------------------------------


def test_meta_charset_and_http_equiv_and_xml_declaration() -> None:
    check(page(SIMPLIFIED, "gbk", head="<meta charset=gb2312>"), None, SIMPLIFIED, "gb18030")
    head = "<meta http-equiv='content-type' content='text/html;charset=big5'>"
    check(page(TRADITIONAL, "big5", head=head), None, TRADITIONAL, "big5hkscs")
    xml = (
        '<?xml version="1.0" encoding="GBK"?><rss><channel><title>'
        + SIMPLIFIED
        + "</title></channel></rss>"
    ).encode("gbk")
    check(xml, "application/rss+xml", SIMPLIFIED, "gb18030")


def test_declaration_sniffing() -> None:
    assert declared_charset(b'<html><head><meta charset="Shift_JIS">') == "Shift_JIS"
    assert declared_charset(b"<!-- <meta charset=koi8-r> --><meta charset=utf-8>") == "utf-8"
    assert declared_charset(b"<html>" + b" " * 5000 + b"<meta charset=gbk>") is None
    assert declared_charset(b"<?xml version='1.0' encoding='big5'?><a/>") == "big5"
    assert header_charset('text/html; Charset="GBK"') == "GBK"
    assert header_charset("text/html") is None
    assert header_charset(None) is None


def test_meta_utf16_means_utf8() -> None:
    check(page(SIMPLIFIED, "utf-8", head='<meta charset="utf-16">'), None, SIMPLIFIED, "utf-8")


# --- labels -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "codec"),
    [
        ("gb2312", "gb18030"),
        ("GBK", "gb18030"),
        ("x-gbk", "gb18030"),
        ("cp936", "gb18030"),
        ("GB18030", "gb18030"),
        ("big5", "big5hkscs"),
        ("Big5-HKSCS", "big5hkscs"),
        ("x-x-big5", "big5hkscs"),
        ("iso-8859-1", "cp1252"),
        ("latin1", "cp1252"),
        ("us-ascii", "cp1252"),
        ("utf8", "utf-8"),
        ("UTF-8", "utf-8"),
        ("shift_jis", "cp932"),
        ("euc-kr", "cp949"),
        ("windows-1251", "cp1251"),
        ("'koi8-r'", "koi8-r"),
    ],
)
def test_labels_map_like_browsers(label: str, codec: str) -> None:
    assert codec_for(label) == codec


@pytest.mark.parametrize(
    "label", ["utf-7", "unicode_escape", "hex", "rot13", "idna", "nonsense", ""]
)
def test_dangerous_or_unknown_labels_are_ignored(label: str) -> None:
    assert codec_for(label) is None


def test_utf7_declaration_is_not_obeyed() -> None:
    content = b"<p>+ADw-script+AD4-alert(1)+ADw-/script+AD4-</p>"
    text, codec = decode_body(content, "text/html; charset=utf-7")
    assert "<script>" not in text
    assert codec != "utf-7"


# --- Western text is left alone ---------------------------------------------------------


@pytest.mark.parametrize("text", [FRENCH, PORTUGUESE, GERMAN, ENGLISH_QUOTES])
def test_western_text_with_latin1_header(text: str) -> None:
    check(page(text, "cp1252"), "text/html; charset=iso-8859-1", text, "cp1252")


@pytest.mark.parametrize("text", [FRENCH, PORTUGUESE, GERMAN, ENGLISH_QUOTES])
def test_undeclared_western_text_is_windows_1252(text: str) -> None:
    check(page(text, "cp1252"), None, text, "cp1252")


WESTERN_TEXT = (
    "café très élève reçu où même là déjà été informações educação não estão população "
    "começou às três Grüße München Straße schön Bäume blühen Übermorgen Köln niño comió "
    "mañana reunión naïve façade smörgåsbord Ærø Øresund Ångström cœur œuvre garçon Zürich "
    "½ °C © ® « » ¿ ¡ “quoted” ‘single’ — … € £ ¥ AÇÃO INFORMAÇÕES ÉTÉ"
)
WESTERN_WORDS = WESTERN_TEXT.split()
PLAIN_TEXT = "the of and to in is was for on that with as by at from this it be"
PLAIN_WORDS = PLAIN_TEXT.split()


@settings(max_examples=300, deadline=None)
@given(
    words=st.lists(st.sampled_from(WESTERN_WORDS + PLAIN_WORDS), min_size=1, max_size=60),
    header=st.sampled_from([None, "text/html", "text/html; charset=iso-8859-1"]),
)
def test_western_text_never_becomes_chinese(words: list[str], header: str | None) -> None:
    text = " ".join(words)
    content = page(text, "cp1252")
    decoded, codec = decode_body(content, header)
    if not content.isascii():
        assert (decoded, codec) == (content.decode("cp1252"), "cp1252")


@settings(max_examples=300, deadline=None)
@given(
    content=st.binary(max_size=400),
    header=st.one_of(
        st.none(),
        st.sampled_from(
            [
                "text/html; charset=utf-8",
                "text/html; charset=gbk",
                "text/html; charset=latin1",
                "text/html; charset=big5",
                "text/html; charset=bogus",
                "text/html; charset=utf-7",
            ]
        ),
    ),
)
def test_any_bytes_decode_and_the_codec_reproduces_the_text(
    content: bytes, header: str | None
) -> None:
    text, codec = decode_body(content, header)
    assert content.decode(codec, "replace") == text


THAI = "สวัสดีครับ วันนี้อากาศดีมาก เราจะไปเดินเล่นที่สวนสาธารณะ"
GREEK = "Καλημέρα, πώς είστε; Σήμερα ο καιρός είναι πολύ ωραίος και θα πάμε βόλτα."


@pytest.mark.parametrize(
    ("text", "encoding", "label"),
    [
        (RUSSIAN, "koi8-r", "KOI8-R"),
        (RUSSIAN, "cp1251", "windows-1251"),
        (THAI, "cp874", "windows-874"),
        (THAI, "cp874", "TIS-620"),
        (GREEK, "cp1253", "windows-1253"),
    ],
)
def test_other_declared_single_byte_charsets_are_kept(text: str, encoding: str, label: str) -> None:
    check(page(text, encoding), f"text/html; charset={label}", text, codecs.lookup(encoding).name)


def test_undeclared_russian_is_detected() -> None:
    check(page(RUSSIAN, "cp1251"), None, RUSSIAN, "cp1251")


def test_ascii_and_empty() -> None:
    check(b"<p>plain</p>", None, "<p>plain</p>", "utf-8")
    check(b"<p>plain</p>", "text/html; charset=iso-8859-1", "<p>plain</p>", "cp1252")
    assert decode_body(b"", None) == ("", "utf-8")


# --- damaged bodies ---------------------------------------------------------------------


def corrupt(content: bytes) -> bytes:
    middle = len(content) // 2
    return content[:middle] + b"\xff" + content[middle:]


@pytest.mark.parametrize(
    ("text", "encoding", "codec", "header"),
    [
        (SIMPLIFIED * 3, "gbk", "gb18030", None),
        (SIMPLIFIED * 3, "gbk", "gb18030", "text/html; charset=gbk"),
        (TRADITIONAL * 3, "big5", "big5hkscs", None),
        (TRADITIONAL * 3, "big5", "big5hkscs", "text/html; charset=iso-8859-1"),
        (SIMPLIFIED * 3, "utf-8", "utf-8", None),
    ],
)
def test_a_broken_byte_does_not_turn_chinese_into_mojibake(
    text: str, encoding: str, codec: str, header: str | None
) -> None:
    result, used = decode_body(corrupt(page(text, encoding)), header)
    assert used == codec
    assert result.count("\ufffd") <= 4  # one bad byte spoils a character or two
    assert SIMPLIFIED[:10] in result or TRADITIONAL[:10] in result


def test_binary_garbage_falls_back_to_utf8_with_replacement() -> None:
    content = bytes(range(0x80, 0x100)) * 4
    text, codec = decode_body(content, None)
    assert content.decode(codec, "replace") == text


# --- a real page, if the shared corpus is there -----------------------------------------

CORPUS = Path(__file__).resolve().parents[1] / ".." / "shared" / "corpus" / "zaobao"


def test_zaobao_page_in_every_chinese_encoding() -> None:
    pages = sorted(CORPUS.glob("*.html")) if CORPUS.is_dir() else []
    if not pages:
        pytest.skip("shared corpus not present")
    original, codec = decode_body(pages[0].read_bytes(), "text/html; charset=utf-8")
    assert codec == "utf-8"
    chinese = "".join(ch for ch in original if "\u4e00" <= ch <= "\u9fff")
    assert len(chinese) > 100
    content = original.encode("gb18030")
    for header in (None, "text/html", "text/html; charset=iso-8859-1", "text/html; charset=utf-8"):
        assert decode_body(content, header) == (original, "gb18030"), header
