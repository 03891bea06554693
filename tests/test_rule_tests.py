"""Site rules' own tests: every shipped rule's test pages pass; the harness reports
each kind of miss; ``scrape rules list|check`` on the shipped rules and a rules_dir."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import clean_env

from scraper.extract.rules import RuleFile, load_rule_files, parse_rule
from scraper.extract.ruletests import body_text, rules_report, run_rule_tests

SHIPPED = [(f, case) for f in load_rule_files() for case in f.rule.tests]

PAGE = """<html><head><title>Harbour reopens | Example News</title>
<meta property="article:published_time" content="2026-03-01T09:30:00">
</head><body><nav>Home · World · Sport</nav>
<div class="story"><p>The harbour reopened on Sunday after a week of storms.</p>
<p>Ferries to the islands run again from Monday &amp; the port authority said.</p>
<div class="ad">Buy one get one free</div></div>
<footer>Copyright Example News</footer></body></html>"""

RULE: dict[str, object] = {
    "name": "example",
    "hosts": ["news.example"],
    "timezone": "Europe/Paris",
    "body": [".story"],
    "strip": [".ad"],
    "title": ["title"],
    "title_suffixes": [" | Example News"],
    "published": ["meta"],
}
CASE: dict[str, object] = {
    "file": "tests/example/harbour.html",
    "url": "https://news.example/world/harbour",
    "title": "Harbour reopens",
    "published": "2026-03-01T09:30:00",  # no zone: the rule's (Paris, +01:00)
    "must_contain": ["The harbour reopened on Sunday", "Monday & the port authority"],
    "must_not_contain": ["Buy one get one free", "Copyright"],
}


@pytest.mark.parametrize(
    ("rule_file", "case"), SHIPPED, ids=[f"{f.rule.name}:{c.file}" for f, c in SHIPPED]
)
def test_shipped_rule_test(rule_file: RuleFile, case: object) -> None:
    only = rule_file.rule.model_copy(update={"tests": (case,)})
    [result] = run_rule_tests(only, rule_file.folder)
    assert result.passed, "\n".join(result.problems)


def test_every_shipped_rule_has_tests() -> None:
    files = load_rule_files()
    assert files and all(f.rule.tests for f in files)


def _rules_dir(root: Path, case: dict[str, object], name: str = "example") -> Path:
    rules = root / "rules"
    (rules / "tests" / "example").mkdir(parents=True, exist_ok=True)
    (rules / "tests" / "example" / "harbour.html").write_text(PAGE, encoding="utf-8")
    doc = {**RULE, "name": name, "tests": [case]}
    (rules / f"{name}.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True), "utf-8")
    return rules


def _problems(tmp_path: Path, **change: object) -> tuple[str, ...]:
    rules = _rules_dir(tmp_path, {**CASE, **change})
    [found] = [f for f in load_rule_files(rules) if f.rule.name == "example"]
    [result] = run_rule_tests(found.rule, found.folder)
    assert result.page == change.get("file", CASE["file"])
    assert result.passed == (not result.problems)
    return result.problems


def test_a_rule_in_rules_dir_passes_with_pages_beside_it(tmp_path: Path) -> None:
    assert _problems(tmp_path) == ()


def test_a_zoneless_expected_time_is_in_the_rules_zone(tmp_path: Path) -> None:
    assert _problems(tmp_path, published="2026-03-01T09:30:00+01:00") == ()
    [problem] = _problems(tmp_path, published="2026-03-01T09:30:00+00:00")
    assert problem == (
        "published: expected 2026-03-01T09:30:00+00:00, got 2026-03-01T09:30:00+01:00"
    )


def test_each_kind_of_miss_is_named(tmp_path: Path) -> None:
    problems = _problems(
        tmp_path,
        title="Harbour closes",
        must_contain=["The harbour reopened on Sunday", "Storm warning lifted"],
        must_not_contain=["Ferries to the islands"],
    )
    assert problems[0] == "title: expected 'Harbour closes', got 'Harbour reopens'"
    assert problems[1] == "body lacks 'Storm warning lifted'"
    assert problems[2] == "body holds 'Ferries to the islands' (must not)"
    assert problems[3].startswith("body text was: 'The harbour reopened on Sunday")
    assert len(problems) == 4


def test_a_missing_page_and_a_missed_body(tmp_path: Path) -> None:
    [problem] = _problems(tmp_path, file="tests/example/gone.html")
    assert problem.startswith("page: cannot read tests/example/gone.html")
    rule = parse_rule(yaml.safe_dump({**RULE, "body": [".nothing"], "tests": [CASE]}), "x.yaml")
    _rules_dir(tmp_path, CASE)
    [result] = run_rule_tests(rule, tmp_path / "rules")
    assert not result.passed
    assert result.problems[0].startswith("body: the rule found none")


def test_a_page_in_its_own_charset(tmp_path: Path) -> None:
    rules = _rules_dir(tmp_path, CASE)
    page = PAGE.replace("<head>", '<head><meta charset="gb18030">').replace(
        "The harbour reopened", "港口重新开放。The harbour reopened"
    )
    (rules / "tests" / "example" / "harbour.html").write_bytes(page.encode("gb18030"))
    rule = parse_rule(
        yaml.safe_dump({**RULE, "tests": [{**CASE, "must_contain": ["港口重新开放。"]}]}),
        "x.yaml",
    )
    [result] = run_rule_tests(rule, rules)
    assert result.passed, result.problems


def test_body_text_lines_and_entities() -> None:
    body = "<p>a &amp;  <b>b</b></p><ul><li>c</li><li> d\n e</li></ul>"
    assert body_text(body) == "a & b\nc\nd\ne"


def test_report_lists_and_counts(tmp_path: Path) -> None:
    rules = _rules_dir(tmp_path, CASE)
    files = load_rule_files(rules)
    lines, ok = rules_report(files, check=False)
    assert ok
    assert any(line.startswith("zaobao   zaobao.com, zaobao.com.sg  ") for line in lines)
    assert f"example  news.example  1 test  ({rules / 'example.yaml'})" in lines
    assert lines[-1] == "2 rules"
    lines, ok = rules_report(files, check=True)
    assert ok
    assert "  ok      tests/example/harbour.html" in lines
    assert lines[-1].startswith("2 rules, ") and lines[-1].endswith(" 0 failed")


# -- the real command ----------------------------------------------------------


def _scrape(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scraper", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env(),
        cwd=cwd,
        check=False,
    )


def test_cli_checks_the_shipped_rules(tmp_path: Path) -> None:
    listed = _scrape(tmp_path, "rules", "list")  # no config.yaml here: shipped rules only
    assert listed.returncode == 0, listed.stderr
    n = sum(len(f.rule.tests) for f in load_rule_files())
    assert f"zaobao  zaobao.com, zaobao.com.sg  {n} tests  (shipped)" in listed.stdout
    checked = _scrape(tmp_path, "rules", "check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.count("  ok      tests/zaobao/") == n
    assert checked.stdout.rstrip().endswith(f"1 rule, {n} tests, 0 failed")


def test_cli_checks_the_configs_rules_dir(tmp_path: Path) -> None:
    rules = _rules_dir(tmp_path, CASE)
    _rules_dir(tmp_path, {**CASE, "title": "Harbour closes"}, name="broken-title")
    (tmp_path / "config.yaml").write_text(
        yaml.safe_dump(
            {"rules_dir": "rules", "sources": [{"name": "a", "url": "https://a.example/f"}]}
        )
    )
    listed = _scrape(tmp_path, "rules", "list")
    assert listed.returncode == 0, listed.stderr
    assert f"example       news.example  1 test  ({rules / 'example.yaml'})" in listed.stdout
    got = _scrape(tmp_path, "rules", "check")
    assert got.returncode == 1, got.stdout + got.stderr
    out = got.stdout
    assert "broken-title  news.example  1 test" in out
    assert "  FAILED  tests/example/harbour.html  (https://news.example/world/harbour)" in out
    assert "          title: expected 'Harbour closes', got 'Harbour reopens'" in out
    n = sum(len(f.rule.tests) for f in load_rule_files())
    assert out.rstrip().endswith(f"3 rules, {n + 2} tests, 1 failed")
    # --rules-dir picks another folder; only the passing rule there
    (rules / "broken-title.yaml").unlink()
    got = _scrape(tmp_path, "rules", "check", "--rules-dir", str(rules))
    assert got.returncode == 0, got.stdout
    assert got.stdout.rstrip().endswith(" 0 failed")


def test_cli_a_broken_rule_file_exits_2(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "bad.yaml").write_text("name: bad\nhosts: [bad.example]\nbody: ['p[']\n")
    got = _scrape(tmp_path, "rules", "check", "--rules-dir", str(rules))
    assert got.returncode == 2
    assert "bad.yaml: body[0]: invalid CSS selector 'p['" in got.stderr
    got = _scrape(tmp_path, "rules", "list", "--rules-dir", str(tmp_path / "absent"))
    assert got.returncode == 2
    assert "no such rules folder" in got.stderr


def test_scrape_check_loads_the_rules_dir_and_names_a_bad_pattern(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "bad.yaml").write_text(
        "name: bad\nhosts: [bad.example]\nbody: [article]\narticle_urls: ['/story(\\d+']\n"
    )
    (tmp_path / "config.yaml").write_text(
        yaml.safe_dump(
            {"rules_dir": "rules", "sources": [{"name": "a", "url": "https://a.example/f"}]}
        )
    )
    got = _scrape(tmp_path, "check")
    assert got.returncode == 2, got.stdout + got.stderr
    assert "bad.yaml: article_urls[0]:" in got.stderr
    (rules / "bad.yaml").write_text(
        "name: good\nhosts: [bad.example]\nbody: [article]\narticle_urls: ['/story\\d+']\n"
    )
    got = _scrape(tmp_path, "check")
    assert got.returncode == 0, got.stdout + got.stderr
    assert "rules: 2 (1 from " in got.stdout
