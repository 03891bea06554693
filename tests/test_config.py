from __future__ import annotations

from pathlib import Path

import pytest
from conftest import Project

from scraper.config import load_settings, parse_duration, parse_size, settings_from_dict
from scraper.errors import ConfigError

ISSUE_EXAMPLE = """\
archive_dir: archive
state_path: state/scraper.sqlite3
allow_private_networks: false      # see 3.
sources:
  - name: zaobao-realtime-china    # unique; used in logs, state and paths
    url: https://www.zaobao.com.sg/realtime/china
    kind: listing                  # feed (default) | listing
    author: 联合早报
    tags: [联合早报]
    categories: [联合早报]
    interval: 10m                  # 30s, 10m, 1h, 1d
  - name: zaobao-realtime-world-feed
    url: https://rsshub.app/zaobao/realtime/world
    author: 联合早报
    tags: [联合早报]
    categories: [联合早报]
"""


def test_documented_example_loads_with_paths_relative_to_the_file(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    path = tmp_path / "conf" / "config.yaml"
    path.write_text(ISSUE_EXAMPLE, encoding="utf-8")
    settings = load_settings(path)
    assert settings.archive_dir == tmp_path / "conf" / "archive"
    assert settings.state_path == tmp_path / "conf" / "state" / "scraper.sqlite3"
    china, world = settings.sources
    assert china.kind == "listing" and china.interval == 600
    assert china.tags == ("联合早报",) and china.author == "联合早报"
    assert world.kind == "feed" and world.interval == 600


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30),
        ("10m", 600),
        ("1h", 3600),
        ("1d", 86400),
        (45, 45),
        ("250ms", 0.25),
        ("1.5h", 5400),
    ],
)
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["soon", "10 minutes", "-5s", True, None, "1w"])
def test_bad_durations(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(bad)


def test_sizes() -> None:
    assert parse_size("10MiB") == 10 * 1024 * 1024
    assert parse_size("500kB") == 500_000
    assert parse_size(1234) == 1234
    with pytest.raises(ValueError):
        parse_size("big")


def test_every_problem_is_listed_by_key_path() -> None:
    raw = {
        "archive_dir": "a",
        "colour": "blue",
        "http": {"max_per_host": 0},
        "sources": [
            {"name": "ok", "url": "https://a.example/feed"},
            {"name": "ok", "url": "https://b.example/feed"},
            {"name": "bad", "url": "not a url", "interval": "0s", "timezone": "Mars/Base"},
            {"name": "x", "url": "https://c.example/", "kind": "magazine", "extra": 1},
        ],
    }
    with pytest.raises(ConfigError) as info:
        settings_from_dict(raw, Path("/tmp"))
    problems = "\n".join(info.value.problems)
    for expected in (
        "colour: unknown key",
        "http.max_per_host",
        "sources[1].name: duplicate source name 'ok' (also sources[0])",
        "sources[2].url: 'not a url' is not an http(s) URL",
        "sources[2].interval: the interval must be at least 1s",
        "sources[2].timezone: unknown time zone 'Mars/Base'",
        "sources[3].kind",
        "sources[3].extra",
    ):
        assert expected in problems
    assert len(info.value.problems) == 8


def test_missing_and_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such config file"):
        load_settings(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("sources: [\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings(bad)
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("just a string\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="mapping"):
        load_settings(scalar)


@pytest.mark.parametrize(
    ("text", "where", "says"),
    [
        (
            "sources:\n  - name: a\n   url: http://x.test/\n",
            "line 3, column 4",
            "(while parsing a block collection from line 2, column 3)",
        ),
        ("archive_dir: archive\nsources: [\n", "line 3, column 1", "but found '<stream end>'"),
        ('archive_dir: "arch\n', "line 2, column 1", "while scanning a quoted scalar"),
        ("sources: []\nproxy: x\x07y\n", "line 2, column 9", "character U+0007"),
    ],
)
def test_a_yaml_syntax_error_names_the_file_line_and_column(
    tmp_path: Path, text: str, where: str, says: str
) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    [problem] = caught.value.problems
    assert problem.startswith(f"{path}: {where}: not valid YAML: "), problem
    assert says in problem
    assert "<unicode string>" not in problem and "\n" not in problem


def test_scrape_check_of_a_config_with_a_yaml_syntax_error_exits_2(project: Project) -> None:
    project.config.write_text("sources:\n  - name: a\n    url: [http://x.test/\n", "utf-8")
    result = project.scrape("check")
    assert result.returncode == 2
    assert f"{project.config}: line 4, column 1: not valid YAML: " in result.stderr
    assert "<unicode string>" not in result.stderr


def test_empty_file_gives_defaults(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("", encoding="utf-8")
    settings = load_settings(path)
    assert settings.sources == ()
    assert settings.http.max_connections == 16 and settings.http.max_per_host == 2
    assert settings.http.max_body == 10 * 1024 * 1024


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("/", "/"),
        ("/archive", "/archive/"),
        (" https://me.github.io/archive/ ", "https://me.github.io/archive/"),
        ("http://example.test", "http://example.test/"),
    ],
)
def test_image_base_url(given: str, kept: str) -> None:
    assert settings_from_dict({"image_base_url": given}, Path("/tmp")).image_base_url == kept


@pytest.mark.parametrize(
    "bad",
    ["archive/", "//cdn.example/", "ftp://x.example/", "javascript:alert(1)//", "/a b/", '/a"/',
     "/assets/?v=1", "https://x.example/#top"],
)  # fmt: skip
def test_bad_image_base_url(bad: str) -> None:
    with pytest.raises(ConfigError) as info:
        settings_from_dict({"image_base_url": bad}, Path("/tmp"))
    assert info.value.problems[0].startswith("image_base_url: ")


def test_an_unknown_key_is_named_with_the_known_one_it_most_looks_like() -> None:
    raw = {
        "archive_dirr": "archive",
        "http": {"timout": "5s"},
        "sources": [{"name": "a", "url": "https://a.example/f", "intervall": "5m", "zzz": 1}],
    }
    with pytest.raises(ConfigError) as info:
        settings_from_dict(raw, Path("/tmp"))
    assert set(info.value.problems) == {
        "archive_dirr: unknown key; did you mean `archive_dir`?",
        "http.timout: unknown key; did you mean `timeout`?",
        "sources[0].intervall: unknown key; did you mean `interval`?",
        "sources[0].zzz: unknown key",
    }


CONFIG_SHAPES = """\
archive_dir: "archive"
state_path: state/scraper.sqlite3
allow_private_networks: yes
http: {timeout: 30s, max_per_host: 0x2, retries: 1_000, user_agent: 'a: "b" # c'}
sources:
  - name: zaobao-中国
    url: https://www.zaobao.com.sg/realtime/china?x=1&y=%20
    interval: 10m
    tags: [新闻, "2024-01-02", 2024-01-02, ~, null, 1e3, .inf, -0.5, on, off, 'it''s']
    author: >-
      folded
      text
    layout: |
      literal
        kept
    categories: !!str 12
  - {name: "tab\\tand\\u00e9", url: "http://a.test/rss", max_new: +12}
"""


@pytest.mark.parametrize("name", ["shipped", "shapes"])
def test_libyaml_reads_a_config_as_the_pure_python_loader_does(name: str) -> None:
    """The config is read by libyaml (a sixth of the time) where PyYAML has it;
    what it gives must be what the plain safe_load gives."""
    import yaml
    from conftest import REPO

    from scraper.config import _load_yaml

    text = (REPO / "config.yaml").read_text("utf-8") if name == "shipped" else CONFIG_SHAPES
    assert _load_yaml(text) == yaml.safe_load(text)
    assert _load_yaml(text) is not None
