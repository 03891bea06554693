"""A rule's own tests: the saved pages its ``tests:`` list names, and what it must
make of each (title, time, sentences the body must and must not hold).

``run_rule_tests`` checks one rule; ``rules_report`` is ``scrape rules list|check``
(lines to print and an exit status), so the command stays a thin shell.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import datetime
from importlib.resources.abc import Traversable
from zoneinfo import ZoneInfo

from scraper.charset import decode_body
from scraper.extract.apply import apply_rule
from scraper.extract.rules import Rule, RuleFile, RuleTest

__all__ = ["RuleTestResult", "body_text", "rules_report", "run_rule_test", "run_rule_tests"]

_BLOCK = re.compile(
    r"<(?:/?(?:p|div|br|li|ul|ol|h[1-6]|tr|td|th|table|blockquote|pre|section|article"
    r"|figure|figcaption|dd|dt|dl|hr))\b[^>]*>",
    re.I,
)
_TAG = re.compile(r"<[^>]*>")
_SPACES = re.compile(r"[^\S\n]+")
_SHOWN = 160  # characters of a value shown in a problem


@dataclass(frozen=True)
class RuleTestResult:
    """One test page of one rule; ``problems`` empty when it passed."""

    rule: str
    page: str
    url: str
    problems: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return not self.problems


def body_text(body: str) -> str:
    """The body's text: a line per block, entities decoded, spaces collapsed."""
    text = html.unescape(_TAG.sub("", _BLOCK.sub("\n", body)))
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def _shown(value: object) -> str:
    text = str(value) if isinstance(value, datetime) else repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"


def _expected_time(rule: Rule, value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=ZoneInfo(rule.timezone))


def run_rule_test(rule: Rule, case: RuleTest, page_bytes: bytes) -> RuleTestResult:
    """What ``rule`` makes of one saved page, against the case's expectations."""
    page, _ = decode_body(page_bytes, None)
    got = apply_rule(rule, page, case.url)
    if got is None:
        problem = f"body: the rule found none (no selector of `body:` matched: {list(rule.body)})"
        return RuleTestResult(rule.name, case.file, case.url, (problem,))
    problems: list[str] = []
    if case.title is not None and got.title != case.title:
        problems.append(f"title: expected {_shown(case.title)}, got {_shown(got.title)}")
    if case.tags is not None and tuple(got.tags) != tuple(case.tags):
        problems.append(f"tags: expected {list(case.tags)}, got {list(got.tags)}")
    if case.published is not None:
        want = _expected_time(rule, case.published)
        if got.published is None:
            problems.append(f"published: expected {want.isoformat()}, got none")
        elif got.published != want:
            problems.append(
                f"published: expected {want.isoformat()}, got {got.published.isoformat()}"
            )
    text = body_text(got.body)
    flat = text.replace("\n", " ")
    missing = [s for s in case.must_contain if s not in got.body and s not in flat]
    present = [s for s in case.must_not_contain if s in got.body or s in text]
    problems += [f"body lacks {_shown(s)}" for s in missing]
    problems += [f"body holds {_shown(s)} (must not)" for s in present]
    if missing:
        problems.append(f"body text was: {_shown(flat) if flat else '(empty)'}")
    return RuleTestResult(rule.name, case.file, case.url, tuple(problems))


def run_rule_tests(rule: Rule, base_dir: Traversable) -> list[RuleTestResult]:
    """Every test of ``rule``, its pages read relative to ``base_dir`` (the folder
    of the rule's file: a ``Path``, or the package's for shipped rules)."""
    results = []
    for case in rule.tests:
        try:
            data = base_dir.joinpath(*case.file.split("/")).read_bytes()
        except OSError as exc:
            problem = f"page: cannot read {case.file}: {exc.strerror or exc}"
            results.append(RuleTestResult(rule.name, case.file, case.url, (problem,)))
            continue
        results.append(run_rule_test(rule, case, data))
    return results


def _tests(n: int) -> str:
    return f"{n} test" if n == 1 else f"{n} tests"


def rules_report(files: list[RuleFile], *, check: bool) -> tuple[list[str], bool]:
    """Lines for ``scrape rules list`` (``check`` False) or ``check`` (each rule's
    tests run, failures spelt out), and whether every test passed."""
    lines: list[str] = []
    width = max((len(f.rule.name) for f in files), default=0)
    total = failed = 0
    for f in files:
        hosts = ", ".join(f.rule.hosts)
        where = "shipped" if f.shipped else f.origin
        lines.append(f"{f.rule.name:<{width}}  {hosts}  {_tests(len(f.rule.tests))}  ({where})")
        if not check:
            continue
        for result in run_rule_tests(f.rule, f.folder):
            total += 1
            if result.passed:
                lines.append(f"  ok      {result.page}")
                continue
            failed += 1
            lines.append(f"  FAILED  {result.page}  ({result.url})")
            lines += [f"          {problem}" for problem in result.problems]
    rules = f"{len(files)} rule" + ("" if len(files) == 1 else "s")
    lines.append(f"{rules}, {_tests(total)}, {failed} failed" if check else rules)
    return lines, failed == 0
