"""Site rules: loading and checking the YAML, host lookup, and what a rule does to a page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from scraper.errors import ConfigError
from scraper.extract.rules import Rule, RuleSet, apply_rule, clean_with_rule, load_rules, parse_rule

SHANGHAI = timezone(timedelta(hours=8))


def _rule(**fields: object) -> Rule:
    return Rule.model_validate(
        {"name": "example", "hosts": ["example.com"], "body": [".story"], **fields}
    )


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


# -- loading -----------------------------------------------------------------


def test_shipped_rules_load() -> None:
    rules = load_rules()
    assert "zaobao" in rules.names()
    zaobao = rules.by_name("zaobao")
    assert zaobao is not None and zaobao.timezone == "Asia/Singapore"
    assert rules.by_name("nope") is None


def test_extra_dir_adds_and_overrides(tmp_path: Path) -> None:
    _write(tmp_path, "zaobao.yaml", "name: zaobao\nhosts: [zaobao.com]\nbody: [.mine]\n")
    _write(tmp_path, "other.yml", "name: other\nhosts: example.org\nbody: article\n")
    _write(tmp_path, "notes.txt", "not a rule")
    rules = load_rules(tmp_path)
    assert sorted(rules.names()) == ["other", "zaobao"]
    zaobao = rules.by_name("zaobao")
    assert zaobao is not None and zaobao.body == (".mine",)
    assert rules.for_url("https://www.zaobao.com/x") == zaobao
    assert rules.for_url("https://www.zaobao.com.sg/x") is None  # the override lists one face
    other = rules.by_name("other")
    assert other is not None and other.hosts == ("example.org",) and other.body == ("article",)


@pytest.mark.parametrize(
    ("text", "where", "says"),
    [
        ("name: x\nhosts: [a.com]\nbody: ['div[']\n", "body[0]", "invalid CSS selector"),
        (
            "name: x\nhosts: [a.com]\nbody: [p]\nbodyy: [p]\n",
            "bodyy",
            "unknown key; did you mean `body`?",
        ),
        ("name: x\nhosts: [a.com]\n", "body", "Field required"),
        (
            "name: x\nhosts: [a.com]\nbody: [p]\ntimezone: Mars/Olympus\n",
            "timezone",
            "unknown time zone",
        ),
        (
            "name: x\nhosts: [a.com]\nbody: [p]\ntitle: [ld+json, og]\n",
            "title[1]",
            "unknown source",
        ),
        (
            "name: x\nhosts: [a.com]\nbody: [p]\ndrop_paragraphs_matching: ['(']\n",
            "drop_paragraphs_matching[0]",
            "invalid regular expression",
        ),
        (
            "name: x\nhosts: [a.com]\nbody: [p]\nhydration: [{after: x, path: 'a..b['}]\n",
            "hydration[0].path",
            "cannot read the path",
        ),
        ("name: x\nhosts: []\nbody: [p]\n", "hosts", "at least one host"),
        ("name: x\nhosts: [a.com]\nbody: [p\n", "line 4, column 1", "not valid YAML"),
        ("name: x\nhosts: [a.com]\n body: [p]\n", "line 3, column 2", "not valid YAML"),
        ("- name: x\n", "", "must be a mapping"),
    ],
)
def test_a_broken_rule_file_names_file_and_key(
    tmp_path: Path, text: str, where: str, says: str
) -> None:
    path = _write(tmp_path, "broken.yaml", text)
    with pytest.raises(ConfigError) as err:
        load_rules(tmp_path)
    message = str(err.value)
    assert str(path) in message and says in message
    assert f"{path}: {where}:" in message if where else True
    assert "<unicode string>" not in message


def test_missing_extra_dir_and_duplicate_names(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such rules folder"):
        load_rules(tmp_path / "absent")
    _write(tmp_path, "a.yaml", "name: same\nhosts: [a.com]\nbody: [p]\n")
    _write(tmp_path, "b.yaml", "name: same\nhosts: [b.com]\nbody: [p]\n")
    with pytest.raises(ConfigError, match=r"b\.yaml: name: rule 'same' is also in .*a\.yaml"):
        load_rules(tmp_path)


def test_host_matching_prefers_the_most_specific_rule() -> None:
    broad = _rule(name="broad", hosts=["example.com"])
    narrow = _rule(name="narrow", hosts=["*.news.example.com", "EXAMPLE.NET."])
    rules = RuleSet([broad, narrow])
    assert narrow.hosts == ("news.example.com", "example.net")
    assert rules.for_url("https://www.news.example.com/a") == narrow
    assert rules.for_url("https://news.example.com/a") == narrow
    assert rules.for_url("https://www.example.com/a") == broad
    assert rules.for_url("https://example.net/") == narrow
    assert rules.for_url("https://badexample.com/") is None
    assert rules.for_url("not a url") is None
    assert len(rules) == 2


def test_parse_rule_reads_single_strings_as_lists() -> None:
    rule = parse_rule("name: x\nhosts: a.com\nbody: article\nstrip: .ad\n", "inline")
    assert rule.hosts == ("a.com",) and rule.body == ("article",) and rule.strip == (".ad",)
    with pytest.raises(ValueError, match="frozen"):
        rule.name = "y"  # type: ignore[misc]


# -- applying ----------------------------------------------------------------

PAGE = """<html><head><title>Big news | Example Daily</title>
<meta property="og:title" content="Big news (og)">
</head><body><nav><a href="/">Home</a></nav>
<h1 class="headline">Big news (h1)</h1><span class="when">2024-03-01 09:30</span>
<div class="story"><p>First paragraph.</p><div class="ad">Buy now</div>
<p>Second paragraph.</p></div></body></html>"""


def test_first_body_selector_with_text_wins() -> None:
    page = PAGE.replace(
        '<div class="story">', '<div class="empty"><div class="ad">x</div></div><div class="story">'
    )
    rule = _rule(body=[".missing", ".empty", ".story"], strip=[".ad"])
    got = apply_rule(rule, page, "https://example.com/a")
    assert got is not None and got.method == "rule:example"
    assert got.body == "<p>First paragraph.</p>\n<p>Second paragraph.</p>"
    assert apply_rule(_rule(body=[".missing"]), PAGE, "https://example.com/a") is None
    assert apply_rule(_rule(body=[".ad"], strip=[".ad"]), PAGE, "https://example.com/a") is None


@pytest.mark.parametrize(
    ("sources", "title"),
    [
        (["meta"], "Big news (og)"),
        (["css:h1.headline", "meta"], "Big news (h1)"),
        (["css:h1.nothing", "title"], "Big news"),
        (["ld+json", "hydration"], "Big news (og)"),  # neither: the page's own metadata
    ],
)
def test_title_sources_in_order(sources: list[str], title: str) -> None:
    rule = _rule(title=sources, title_suffixes=[" | Example Daily"])
    got = apply_rule(rule, PAGE, "https://example.com/a")
    assert got is not None and got.title == title


def test_zoneless_times_use_the_rule_zone_else_the_source_zone() -> None:
    url = "https://example.com/a"
    with_zone = _rule(published=["css:.when"], timezone="Asia/Shanghai")
    got = apply_rule(with_zone, PAGE, url, default_tz=UTC)
    assert got is not None and got.published == datetime(2024, 3, 1, 9, 30, tzinfo=SHANGHAI)
    without = _rule(published=["css:.when"])
    got = apply_rule(without, PAGE, url, default_tz=SHANGHAI)
    assert got is not None and got.published == datetime(2024, 3, 1, 9, 30, tzinfo=SHANGHAI)
    got = apply_rule(without, PAGE, url)
    assert got is not None and got.published == datetime(2024, 3, 1, 9, 30, tzinfo=UTC)


def test_drops_paywall_blocks_and_headed_link_lists() -> None:
    rule = _rule(drop_paragraphs_matching=["订阅"], drop_link_lists_after=[r"^热文推荐$"])
    fragment = (
        "<p>正文一。</p><p>热文推荐</p><ul><li><a href='/a'>甲</a></li></ul>"
        "<p><a href='/b'>乙</a> | <a href='/c'>丙</a></p><p>正文二，<a href='/d'>链接</a>。</p>"
        "<p>请订阅以继续阅读。</p><p>热文推荐不在行首时是正文。</p>"
    )
    body = clean_with_rule(rule, fragment, "https://example.com/")
    assert body.split("\n") == [
        "<p>正文一。</p>",
        '<p>正文二，<a href="https://example.com/d">链接</a>。</p>',
        "<p>热文推荐不在行首时是正文。</p>",
    ]


def test_image_rewrites_reach_lazy_and_srcset_images() -> None:
    rule = _rule(
        image_host_rewrites=[
            {
                "pattern": r"^(?:https?:)?//[^/]+\.com/s3fs-public/",
                "replacement": "https://static.example.org/s3fs-public/",
            }
        ]
    )
    fragment = (
        '<p>a</p><img class="lazyload" data-src="//cdn1.com/s3fs-public/a.jpg" src="data:,">'
        '<picture><source data-srcset="//cdn2.com/s3fs-public/b.jpg 1x, //cdn2.com/s3fs-public/'
        'b2.jpg 2x"><img alt="b"></picture><img src="https://keep.org/s3fs-public/c.jpg">'
    )
    body = clean_with_rule(rule, fragment, "https://example.com/")
    assert 'src="https://static.example.org/s3fs-public/a.jpg"' in body
    assert "https://static.example.org/s3fs-public/b" in body
    assert 'src="https://keep.org/s3fs-public/c.jpg"' in body
    assert "cdn1.com" not in body and "cdn2.com" not in body


def test_lead_images_lead_once_with_captions() -> None:
    page = """<html><body><div class="banner">
      <div class="item"><img data-src="/img/one.jpg" src="data:,"><p class="cap">One.</p></div>
      <div class="item"><picture><source data-srcset="/img/two.jpg 2x"><img></picture></div>
      <div class="item"><img src="/img/three.jpg" title="Three."></div></div>
      <div class="story"><p>Text.</p><img src="/img/three.jpg"></div></body></html>"""
    rule = _rule(
        lead_images=[{"items": ".nothing img"}, {"items": ".banner .item", "caption": ".cap"}]
    )
    got = apply_rule(rule, page, "https://example.com/a/b")
    assert got is not None
    lines = got.body.split("\n")
    assert lines[0] == (
        '<figure><img src="https://example.com/img/one.jpg" alt="">'
        "<figcaption>One.</figcaption></figure>"
    )
    assert lines[1] == '<figure><img src="https://example.com/img/two.jpg" alt=""></figure>'
    assert lines[2] == "<p>Text.</p>"  # three.jpg is in the body already
    assert got.body.count("three.jpg") == 1


def test_hydration_body_wins_when_it_holds_more() -> None:
    data = '{"page": {"story": {"title": "T", "time": "2024-05-01 08:00", "html": "<p>Full one.</p><p>Full two.</p>", "tags": ["a", {"name": "b"}, 3]}}}'
    page = f"""<html><body><div class="story"><p>Teaser.</p></div>
      <script>window.__DATA__ = {data};</script></body></html>"""
    rule = _rule(
        timezone="Asia/Shanghai",
        title=["hydration"],
        published=["hydration"],
        hydration=[
            {
                "after": r"__DATA__\s*=",
                "path": "page.story",
                "title": "title",
                "published": "time",
                "body": "html",
                "tags": "tags",
            }
        ],
    )
    got = apply_rule(rule, page, "https://example.com/")
    assert got is not None
    assert got.body == "<p>Full one.</p>\n<p>Full two.</p>"
    assert got.title == "T" and got.tags == ("a", "b")
    assert got.published == datetime(2024, 5, 1, 8, tzinfo=SHANGHAI)
    shorter = page.replace("<p>Teaser.</p>", "<p>A teaser that is much longer than the data.</p>")
    got = apply_rule(rule, shorter, "https://example.com/")
    assert got is not None and got.body == "<p>A teaser that is much longer than the data.</p>"
