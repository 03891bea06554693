"""What a config reload (SIGHUP) changes: which sources to add, drop and reschedule.

The new file is read and checked as at start-up; a bad one raises
``ConfigError`` and the daemon keeps the config it has. Sources, site rules,
``max_attempts``, ``git`` and ``images`` take effect at once. Keys that the
open connections, files and listening socket were built from (``http``,
``proxy``, ``allow_private_networks``, ``archive_dir``, ``state_path``,
``state_url``, ``service``, ``cluster``) keep their old values until a restart;
the reload names them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from scraper.config import Settings, SourceConfig, load_settings
from scraper.extract.rules import RuleSet
from scraper.wiring import load_checked_rules, select_sources

RESTART_KEYS = (
    "archive_dir", "state_path", "state_url", "allow_private_networks", "proxy", "http",
    "service", "extract_workers", "cluster",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Reload:
    settings: Settings  # the new config, with RESTART_KEYS kept from the running one
    rules: RuleSet
    sources: tuple[SourceConfig, ...]  # what the daemon polls from now on
    added: tuple[str, ...]
    removed: tuple[str, ...]
    changed: tuple[str, ...]
    needs_restart: tuple[str, ...]  # keys whose change waits for a restart


def diff_sources(
    old: Sequence[SourceConfig], new: Sequence[SourceConfig]
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """Names added, removed and changed (any key), each in config order."""
    before = {s.name: s for s in old}
    after = {s.name: s for s in new}
    added = tuple(n for n in after if n not in before)
    removed = tuple(n for n in before if n not in after)
    changed = tuple(n for n in after if n in before and after[n] != before[n])
    return added, removed, changed


def plan_reload(
    running: Settings,
    running_sources: Sequence[SourceConfig],
    new: Settings,
    rules: RuleSet,
    names: Sequence[str] = (),
) -> Reload:
    """The reload of ``new`` into a daemon running ``running`` (pure)."""
    sources = tuple(select_sources(new, names))
    needs_restart = tuple(k for k in RESTART_KEYS if getattr(new, k) != getattr(running, k))
    kept = new.model_copy(update={k: getattr(running, k) for k in RESTART_KEYS})
    added, removed, changed = diff_sources(running_sources, sources)
    return Reload(kept, rules, sources, added, removed, changed, needs_restart)


def load_reload(
    path: Path, running: Settings, running_sources: Sequence[SourceConfig], names: Sequence[str]
) -> Reload:
    """Reads ``path`` again; ConfigError (every problem) when it is not usable."""
    new = load_settings(path)
    return plan_reload(running, running_sources, new, load_checked_rules(new), names)
