"""The ``scrape`` command: parses arguments, builds the dependencies, reports.

Exit status: 0 all sources (and their articles) succeeded, 1 something failed,
2 the config (or a command-line argument) is wrong.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

from scraper.config import HttpSettings, Settings, SourceConfig, load_settings
from scraper.errors import ConfigError, FetchError, ScraperError
from scraper.logs import setup_logging

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "-c",
        "--config",
        type=Path,
        default=argparse.SUPPRESS,
        help="config file (default: $SCRAPER_CONFIG, else ./config.yaml)",
    )
    common.add_argument(
        "--log-format",
        choices=["text", "json"],
        default=argparse.SUPPRESS,
        help="log lines as text (default) or JSON ($SCRAPER_LOG_FORMAT)",
    )
    common.add_argument(
        "--log-level",
        default=argparse.SUPPRESS,
        help="debug, info (default), warning, error ($SCRAPER_LOG_LEVEL)",
    )
    parser = argparse.ArgumentParser(
        prog="scrape",
        parents=[common],
        description="Archive news articles from feeds and listing pages as Jekyll posts.",
    )
    parser.add_argument("--once", action="store_true", help="poll each source once and exit")
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="--once: print only errors and what failed"
    )
    parser.add_argument(
        "--due",
        action="store_true",
        help="--once: only the sources due by their interval (and backoff after failures), "
        "as the daemon would poll them: for a cron job run every few minutes",
    )
    parser.add_argument(
        "--source",
        action="append",
        default=[],
        metavar="NAME",
        help="only this source (repeatable)",
    )
    sub = parser.add_subparsers(dest="command")
    run = sub.add_parser("run", parents=[common], help="the daemon (default)")
    run.add_argument(
        "--once",
        action="store_true",
        default=argparse.SUPPRESS,
        help="poll each source once and exit",
    )
    run.add_argument("--source", action="append", default=argparse.SUPPRESS, metavar="NAME")
    run.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS)
    run.add_argument("--due", action="store_true", default=argparse.SUPPRESS)
    sub.add_parser("check", parents=[common], help="validate the config and list the sources")
    sub.add_parser(
        "worker",
        parents=[common],
        help="one of several workers sharing the sources on PostgreSQL (state_url; "
        "procrastinate): run one per machine, or several",
    )
    sub.add_parser(
        "healthcheck",
        parents=[common],
        help="exit 0 if the daemon answers on /healthz (service.enabled), else if its "
        "scheduler beat in the last 2 minutes",
    )
    status = sub.add_parser(
        "status",
        parents=[common],
        help="per source: last success and error, articles, failed ones, next poll",
    )
    status.add_argument("--json", action="store_true", help="as JSON")
    retry = sub.add_parser(
        "retry",
        parents=[common],
        help="give the failed articles (given up ones too) a new round of tries, "
        "from the next poll",
    )
    retry.add_argument("names", nargs="*", metavar="SOURCE", help="default: every source")
    init = sub.add_parser(
        "init", parents=[common], help="lay out a new archive folder (Jekyll site + config.yaml)"
    )
    init.add_argument("dir", nargs="?", type=Path, default=Path("."), help="default: here")
    demo = sub.add_parser(
        "demo",
        parents=[common],
        help="the whole path without the internet: serve bundled pages on 127.0.0.1, "
        "poll them once into a new folder, build its site and search index (as site build "
        "does) when Jekyll and Pagefind are installed",
    )
    demo.add_argument("dir", nargs="?", type=Path, help="a new or empty folder (./scrape-demo)")
    ext = sub.add_parser(
        "extract", parents=[common], help="print what the extractor makes of one page"
    )
    ext.add_argument("target", help="a URL, or a saved HTML file (then give --url)")
    ext.add_argument("--url", help="the page's address, for a saved file")
    ext.add_argument("--rule", help="use this site rule instead of the one for the host")
    again = sub.add_parser(
        "reextract",
        parents=[common],
        help="make the posts again from their captured pages (captures: warc), with "
        "today's rules and extractor; posts edited by hand are left alone",
    )
    again.add_argument(
        "--source",
        action="append",
        default=[],
        metavar="NAME",
        help="only this source (repeatable)",
    )
    again.add_argument("--since", type=_day, metavar="YYYY-MM-DD", help="captured on or after")
    again.add_argument("--until", type=_day, metavar="YYYY-MM-DD", help="captured on or before")
    again.add_argument(
        "--dry-run", action="store_true", help="say what would change; write nothing"
    )
    again.add_argument(
        "--stale",
        action="store_true",
        help="only the posts made while a part of their site rule found nothing",
    )
    rules = sub.add_parser("rules", parents=[common], help="list the site rules, run their tests")
    actions = rules.add_subparsers(dest="action", required=True)
    for action, text in (
        ("list", "list the site rules: name, hosts, tests"),
        ("check", "run every rule's tests; exit 1 if one fails"),
    ):
        act = actions.add_parser(action, parents=[common], help=text)
        act.add_argument(
            "--rules-dir", type=Path, help="your rules (default: the config's rules_dir)"
        )
    site = sub.add_parser("site", parents=[common], help="the archive's Jekyll site")
    site_actions = site.add_subparsers(dest="action", required=True)
    site_build = site_actions.add_parser(
        "build",
        parents=[common],
        help="jekyll build, then the Pagefind search index: the site in DIR/_site",
    )
    site_build.add_argument("dir", nargs="?", type=Path, default=Path("."), help="default: here")
    return parser


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a day (YYYY-MM-DD)") from None


def _reextract(args: argparse.Namespace, settings: Settings) -> int:
    from scraper.reextract import reextract, report_lines
    from scraper.wiring import load_checked_rules, select_sources

    sources = select_sources(settings, args.source)
    if args.since and args.until and args.since > args.until:
        raise ConfigError([f"--since {args.since} is after --until {args.until}"])
    report = reextract(
        settings,
        sources,
        load_checked_rules(settings),
        since=args.since,
        until=args.until,
        dry_run=args.dry_run,
        stale=args.stale,
    )
    print("\n".join(report_lines(report, sources)))
    return EXIT_FAILED if report.failed else EXIT_OK


def _config_path(args: argparse.Namespace) -> Path:
    if getattr(args, "config", None) is not None:
        return Path(args.config)
    return Path(os.environ.get("SCRAPER_CONFIG", "config.yaml"))


def _print_config_error(path: Path, exc: ConfigError) -> None:
    print(f"scrape: invalid config {path}:", file=sys.stderr)
    for problem in exc.problems:
        print(f"  {problem}", file=sys.stderr)


def _check(settings: Settings, path: Path) -> int:
    """The config, the site rules it uses (every selector and pattern checked as
    they load: a bad one is a ConfigError naming the file and key), the sources."""
    from scraper.extract.rules import load_rule_files
    from scraper.wiring import load_checked_rules

    rules = load_checked_rules(settings)
    own = [f for f in load_rule_files(settings.rules_dir) if not f.shipped]
    print(f"config {path}: ok")
    print(f"archive_dir: {settings.archive_dir}")
    if settings.state_url:
        from scraper.statedb import redact_url

        print(f"state_url:   {redact_url(settings.state_url)}")
    else:
        print(f"state_path:  {settings.state_path}")
    mine = f" ({len(own)} from {settings.rules_dir})" if settings.rules_dir else ""
    print(f"rules: {len(rules.names())}{mine}")
    if not settings.sources:
        print("warning: no sources: a run polls nothing (add some under `sources:`)")
        return EXIT_OK
    rows = [
        (
            s.name,
            s.kind,
            f"every {duration_text(s.interval)}",
            s.url + ("" if s.enabled else "  (disabled)"),
        )
        for s in settings.sources
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    print(f"sources: {len(rows)}")
    for name, kind, every, url in rows:
        cells = (name.ljust(widths[0]), kind.ljust(widths[1]), every.ljust(widths[2]))
        print(f"  {'  '.join(cells)}  {url}")
    return EXIT_OK


def duration_text(seconds: float) -> str:
    """``600`` → ``10m``: a duration in the largest unit that writes it whole, as a
    config would (``1.5s``, ``90s``, ``2h``, ``1d``)."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


def _healthcheck(settings: Settings) -> int:
    import time

    from scraper.daemon import HEARTBEAT_SECONDS, heartbeat_age

    if settings.service.enabled:
        from scraper.service import probe

        ok, said = probe(settings.service.host, settings.service.port, "/healthz")
        print(f"{'healthy' if ok else 'unhealthy'}: {said}")
        return EXIT_OK if ok else EXIT_FAILED

    age = heartbeat_age(settings, time.time())
    if age is None or age > 4 * HEARTBEAT_SECONDS:
        print(f"unhealthy: no scheduler heartbeat for {'ever' if age is None else f'{age:.0f}s'}")
        return EXIT_FAILED
    print(f"healthy: last heartbeat {age:.0f}s ago")
    return EXIT_OK


def _extract(args: argparse.Namespace, settings: Settings | None) -> int:
    import asyncio
    from dataclasses import replace

    from scraper.articles import article_of
    from scraper.extract import extract_article
    from scraper.extract.rules import load_rules
    from scraper.http import Fetcher
    from scraper.render import render
    from scraper.source_page import rule_for, zone_for
    from scraper.types import Entry

    rules = load_rules(settings.rules_dir if settings else None)
    target: str = args.target
    if target.startswith(("http://", "https://")):
        url = args.url or target

        async def fetch() -> tuple[str, str]:
            async with Fetcher(
                settings.http if settings else HttpSettings(),
                allow_private_networks=bool(settings and settings.allow_private_networks),
                proxy=settings.proxy if settings else None,
            ) as fetcher:
                page = await fetcher.get_page(target)
            return page.text, page.url

        html, url = asyncio.run(fetch())
    else:
        if not args.url:
            print("scrape extract: a saved file needs --url (the page's address)", file=sys.stderr)
            return EXIT_CONFIG
        from scraper.http import decode_body

        html, _ = decode_body(Path(target).read_bytes(), None)
        url = args.url
    # the pipeline's own steps: the page's rule and zone, the extraction, the post
    try:
        source = SourceConfig(name="extract", url=url, rule=args.rule)
    except ValueError:  # pydantic's ValidationError is one
        print(f"scrape extract: {url!r} is not an http(s) address", file=sys.stderr)
        return EXIT_CONFIG
    if args.rule and rules.by_name(args.rule) is None:
        print(f"scrape extract: no site rule named {args.rule!r}", file=sys.stderr)
        return EXIT_CONFIG
    rule = rule_for(rules, source, url)
    got = extract_article(
        html, url, rule=rule, feed_content=None, feed_title=None, default_tz=zone_for(source, rule)
    )
    article = article_of(Entry(id=url, link=url), got, source, datetime.now(UTC))
    # for writing rules: the tags the page gives, and which path made the body
    post = render(replace(article, tags=got.tags, extra=(("extractor", got.method),)))
    print(_without_null_author(post), end="")
    return EXIT_OK if got.body else EXIT_FAILED


def _without_null_author(post: str) -> str:
    """The post with no ``author: null`` line: in a preview, "null" reads as a fault
    rather than as "the page names no author"."""
    front_matter, end, rest = post.partition("\n---\n")
    kept = [line for line in front_matter.split("\n") if line != "author: null"]
    return "\n".join(kept) + end + rest


def _rules(args: argparse.Namespace, settings: Settings | None) -> int:
    from scraper.extract.rules import load_rule_files
    from scraper.extract.ruletests import rules_report

    rules_dir = args.rules_dir or (settings.rules_dir if settings else None)
    lines, passed = rules_report(load_rule_files(rules_dir), check=args.action == "check")
    print("\n".join(lines))
    return EXIT_OK if passed else EXIT_FAILED


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    log_format = getattr(args, "log_format", None) or os.environ.get("SCRAPER_LOG_FORMAT", "text")
    level_name = (
        getattr(args, "log_level", None) or os.environ.get("SCRAPER_LOG_LEVEL", "info")
    ).upper()
    level = logging.getLevelName(level_name)
    if not isinstance(level, int):
        print(f"scrape: unknown log level {level_name.lower()!r}", file=sys.stderr)
        return EXIT_CONFIG
    setup_logging(log_format, level)
    path = _config_path(args)
    command = args.command or "run"
    if command == "site":
        return _site_build(args.dir)
    if command == "init":
        from scraper.scaffold import report, scaffold

        try:
            print(report(args.dir, scaffold(args.dir)))
        except OSError as exc:
            print(f"scrape init: {exc}", file=sys.stderr)
            return EXIT_FAILED
        return EXIT_OK
    if command == "demo":
        import shutil

        from scraper.demo import run_demo
        from scraper.site import pagefind_binary

        try:
            return run_demo(
                args.dir,
                stdout=sys.stdout,
                stderr=sys.stderr,
                jekyll=shutil.which("jekyll"),
                pagefind=pagefind_binary(),
            )
        except (ScraperError, OSError) as exc:
            print(f"scrape demo: {exc}", file=sys.stderr)
            return EXIT_FAILED

    if command in ("extract", "rules"):
        settings = None
        if path.exists():
            try:
                settings = load_settings(path)
            except ConfigError as exc:
                _print_config_error(path, exc)
                return EXIT_CONFIG
        if command == "rules":
            try:
                return _rules(args, settings)
            except ConfigError as exc:
                print("scrape rules: a rule file is wrong:", file=sys.stderr)
                for problem in exc.problems:
                    print(f"  {problem}", file=sys.stderr)
                return EXIT_CONFIG
        try:
            return _extract(args, settings)
        except (ScraperError, OSError) as exc:
            print(f"scrape extract: {exc}", file=sys.stderr)
            return EXIT_FAILED

    try:
        settings = load_settings(path)
        if command == "check":
            return _check(settings, path)
        if command == "healthcheck":
            return _healthcheck(settings)
        if command == "status":
            from scraper.status import as_json, format_text, read_health, statuses

            view = read_health(settings)
            rows = statuses(settings, view)
            now = datetime.now(UTC)
            show = as_json if args.json else format_text
            print(show(rows, now, view.rules))
            return EXIT_OK
        if command == "retry":
            return _retry(settings, args.names)
        if command == "worker":
            from scraper.worker import run_worker_command

            return run_worker_command(settings)
        if command == "reextract":
            return _reextract(args, settings)
        from scraper.wiring import select_sources

        select_sources(settings, args.source)
        if args.due and not args.once:
            raise ConfigError(["--due: only with --once (the daemon polls what is due anyway)"])
        if args.once:
            from scraper.once import run_once_command

            level_given = hasattr(args, "log_level") or "SCRAPER_LOG_LEVEL" in os.environ
            return run_once_command(
                settings, args.source, quiet=args.quiet, level_given=level_given, due=args.due
            )
        import asyncio

        from scraper.daemon import run_daemon

        return asyncio.run(run_daemon(settings, args.source))
    except ConfigError as exc:
        _print_config_error(path, exc)
        return EXIT_CONFIG
    except FetchError as exc:
        print(f"scrape: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except ScraperError as exc:
        print(f"scrape: {exc}", file=sys.stderr)
        return EXIT_FAILED


def _site_build(folder: Path) -> int:
    from scraper.site import SiteError, build_site, find_tools, report

    try:
        built = build_site(folder, find_tools(), echo=lambda line: print(line, flush=True))
    except (SiteError, OSError) as exc:
        print(f"scrape site build: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(report(built))
    return EXIT_OK


def _retry(settings: Settings, names: Sequence[str]) -> int:
    """Resets the tries of the failed articles of ``names`` (every source when
    none): the next poll, of the daemon or ``--once``, fetches them again."""
    from scraper.state import State, state_exists
    from scraper.wiring import select_sources

    chosen = [s.name for s in select_sources(settings, names)] if names else []
    if not state_exists(settings.state_target):
        print("no failed articles: there is no state yet")
        return EXIT_OK
    with State(settings.state_target) as state:
        count = state.revive(chosen)
    noun = "article" if count == 1 else "articles"
    where = ", ".join(chosen) if chosen else "every source"
    print(f"{count} failed {noun} of {where}: tried again from the next poll")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
