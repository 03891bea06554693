"""config.yaml → validated, frozen settings.

Paths in the file are relative to the file's folder, so cron jobs and
containers can run from anywhere. Every problem is reported at once, by key
path (``sources[2].interval: …``), before any network work.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from scraper.errors import ConfigError
from scraper.validation import problems as validation_problems
from scraper.validation import yaml_problem

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib)?\s*$", re.I)
_SIZE_UNITS = {
    None: 1,
    "b": 1,
    "kb": 1000,
    "kib": 1024,
    "mb": 1000**2,
    "mib": 1024**2,
    "gb": 1000**3,
    "gib": 1024**3,
}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def parse_duration(value: object) -> float:
    """``30s``, ``10m``, ``1h``, ``1d``, ``250ms`` or a number of seconds."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 30s, 10m, 1h or 1d")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (m := _DURATION.match(value)):
        seconds = float(m.group(1)) * _UNITS[m.group(2)]
    else:
        raise ValueError(f"{value!r} is not a duration such as 30s, 10m, 1h or 1d")
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    return seconds


def parse_size(value: object) -> int:
    """``10MiB``, ``500kB`` or a number of bytes."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and (m := _SIZE.match(value)):
        unit = m.group(2).lower() if m.group(2) else None
        return int(float(m.group(1)) * _SIZE_UNITS[unit])
    raise ValueError(f"{value!r} is not a size such as 10MiB or 500kB")


Duration = Annotated[float, BeforeValidator(parse_duration)]
Size = Annotated[int, BeforeValidator(parse_size)]


def _check_http_url(value: str) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value!r} is not an http(s) URL")
    return value.strip()


def _as_list(value: object) -> object:
    return [value] if isinstance(value, str) else value


_Strict = ConfigDict(extra="forbid", frozen=True)


class HttpSettings(BaseModel):
    """How the scraper talks to servers."""

    model_config = _Strict

    user_agent: str = "scraper/0.1 (+https://github.com/scraper-archive/scraper)"
    timeout: Duration = 30.0  # connect / read / write, each
    # One request from its first byte sent to its last byte read: a server that drips
    # its body a byte at a time never trips ``timeout``, so this bounds it.
    deadline: Annotated[float, BeforeValidator(parse_duration), Field(gt=0)] = 120.0
    max_connections: int = Field(default=16, ge=1, le=1000)  # requests in flight overall
    max_per_host: int = Field(default=2, ge=1, le=100)  # requests in flight per host
    host_delay: Duration = 0.0  # pause between two requests to the same host
    retries: int = Field(default=3, ge=0, le=10)
    retry_after_cap: Duration = 300.0  # longest Retry-After we wait in a run
    max_body: Size = 10 * 1024 * 1024
    max_redirects: int = Field(default=10, ge=0, le=30)
    ca_bundle: Path | None = None  # extra CA certificates (PEM), e.g. a company proxy's


class ServiceSettings(BaseModel):
    """The daemon's HTTP endpoint: ``/healthz``, ``/readyz``, ``/metrics``."""

    model_config = _Strict

    enabled: bool = False
    host: str = "127.0.0.1"  # 0.0.0.0 to let Prometheus reach it from outside a container
    port: int = Field(default=9464, ge=1, le=65535)


class GitSettings(BaseModel):
    """Commit (and push) what a run wrote, in the archive's git repository."""

    model_config = _Strict

    commit: bool = False
    push: bool = False
    remote: str | None = None  # default: the branch's upstream

    @model_validator(mode="after")
    def _push_needs_commit(self) -> GitSettings:
        if self.push and not self.commit:
            raise ValueError("push: true needs commit: true")
        return self


class ClusterSettings(BaseModel):
    """``scrape worker``: several workers sharing the sources (state_url needed)."""

    model_config = _Strict

    # polls one worker runs at once; default: 4 per HTTP connection, at least 8
    concurrency: int | None = Field(default=None, ge=1, le=1000)
    # a worker whose heartbeat is this old is taken for dead, and its polls are run
    # again elsewhere: a killed worker's sources resume within this plus an interval
    stall_timeout: Annotated[float, BeforeValidator(parse_duration), Field(ge=3)] = 30.0


class SourceConfig(BaseModel):
    """One source. ``name`` is unique and names the source in logs, state and paths."""

    model_config = _Strict

    name: str
    url: str
    kind: Literal["feed", "listing"] = "feed"
    author: str | None = None
    tags: Annotated[tuple[str, ...], BeforeValidator(_as_list)] = ()
    categories: Annotated[tuple[str, ...], BeforeValidator(_as_list)] = ()
    interval: Duration = 600.0
    timezone: str | None = None  # for zoneless times; default: the site rule's, else UTC
    rule: str | None = None  # a site rule by name, instead of by host
    links: str | None = None  # CSS selector for article links (listing)
    layout: str = "post"
    path: str | None = None  # file path template, see render.py
    enabled: bool = True
    max_new: int = Field(default=100, ge=1)  # articles fetched per poll at most
    fetch_article: bool = True  # False: archive the feed's own content only

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _NAME.match(v):
            raise ValueError(
                "use letters, digits, '.', '_' and '-' (up to 100, starting with a letter or digit)"
            )
        return v

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        return _check_http_url(v)

    @field_validator("interval")
    @classmethod
    def _interval(cls, v: float) -> float:
        if v < 1:
            raise ValueError("the interval must be at least 1s")
        return v

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, v: str | None) -> str | None:
        if v is None:
            return v
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r} (use e.g. UTC or Asia/Singapore)") from None
        return v

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone or "UTC")


class Settings(BaseModel):
    """The whole config file. Paths are absolute once loaded."""

    model_config = _Strict

    archive_dir: Path = Path("archive")
    state_path: Path = Path("state/scraper.sqlite3")
    # The state in PostgreSQL instead of the SQLite file at state_path (needed by
    # `scrape worker`): postgresql://user@host:5432/db; the password is best left
    # to PGPASSWORD or ~/.pgpass, which psycopg reads
    state_url: str | None = None
    allow_private_networks: bool = False
    proxy: str | None = None
    http: HttpSettings = Field(default_factory=HttpSettings)
    rules_dir: Path | None = None  # extra site rules (*.yaml), beside the shipped ones
    max_attempts: int = Field(default=5, ge=1)  # tries per article before giving up
    sources: tuple[SourceConfig, ...] = ()
    service: ServiceSettings = Field(default_factory=ServiceSettings)
    git: GitSettings = Field(default_factory=GitSettings)
    cluster: ClusterSettings = Field(default_factory=ClusterSettings)
    images: Literal["keep", "download"] = "keep"  # download: copies under assets/
    # warc: every article page fetched is kept as a WARC record (captures.py)
    captures: Literal["off", "warc"] = "off"
    captures_dir: Path = Path("captures")
    image_max_size: Size = 5 * 1024 * 1024
    # what the body's src of a local copy starts with, before assets/…: "/" for a site
    # at its domain's root, the site's address when it is not (GitHub project pages)
    image_base_url: str = "/"
    # processes extracting articles: None, one per core; 0, none (in the main process)
    extract_workers: int | None = Field(default=None, ge=0, le=256)
    config_path: Path | None = Field(default=None, exclude=True)

    @field_validator("proxy")
    @classmethod
    def _proxy(cls, v: str | None) -> str | None:
        if v is None:
            return v
        parts = urlsplit(v)
        if parts.scheme not in ("http", "https", "socks5", "socks5h") or not parts.hostname:
            raise ValueError(f"{v!r} is not a proxy URL such as http://proxy:3128")
        return v

    @field_validator("state_url")
    @classmethod
    def _state_url(cls, v: str | None) -> str | None:
        if v is None:
            return v
        v = v.strip()
        if not v.startswith(("postgresql://", "postgres://")):
            # the value is not echoed: it may hold a password
            raise ValueError("not a PostgreSQL URL such as postgresql://scraper@db:5432/scraper")
        return v

    @property
    def state_target(self) -> Path | str:
        """Where the state is: the PostgreSQL URL when one is set, else the SQLite file."""
        return self.state_url or self.state_path

    @field_validator("image_base_url")
    @classmethod
    def _image_base_url(cls, v: str) -> str:
        v = v.strip()
        parts = urlsplit(v)
        absolute = parts.scheme in ("http", "https") and bool(parts.hostname)
        if not (absolute or (v.startswith("/") and not v.startswith("//") and not parts.scheme)):
            raise ValueError(
                f"{v!r} is neither a path from the site's root (/archive/) nor an http(s) "
                "URL (https://example.github.io/archive/)"
            )
        if parts.query or parts.fragment or any(c in v for c in "\"\\<>' \t\n"):
            raise ValueError(f"{v!r}: no query, fragment, quotes or spaces in a base URL")
        return v if v.endswith("/") else v + "/"

    @model_validator(mode="after")
    def _unique_names(self) -> Settings:
        seen: set[str] = set()
        for source in self.sources:
            if source.name in seen:
                raise ValueError(f"duplicate source name {source.name!r}")
            seen.add(source.name)
        return self


def _duplicate_name_problems(raw: dict[str, Any]) -> list[str]:
    sources = raw.get("sources")
    if not isinstance(sources, list):
        return []
    problems: list[str] = []
    first: dict[str, int] = {}
    for i, s in enumerate(sources):
        name = s.get("name") if isinstance(s, dict) else None
        if isinstance(name, str):
            if name in first:
                problems.append(
                    f"sources[{i}].name: duplicate source name {name!r} "
                    f"(also sources[{first[name]}])"
                )
            else:
                first[name] = i
    return problems


def settings_from_dict(raw: object, base_dir: Path, config_path: Path | None = None) -> Settings:
    """Validate a parsed config; relative paths are taken from ``base_dir``."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError("the config must be a mapping of keys to values")
    problems = _duplicate_name_problems(raw)
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as exc:
        for where, msg in validation_problems(exc, Settings):
            if "duplicate source name" in msg and problems:
                continue
            problems.append(f"{where}: {msg}" if where else msg)
        raise ConfigError(problems) from None
    if problems:
        raise ConfigError(problems)

    def resolve(p: Path) -> Path:
        p = p.expanduser()
        return p if p.is_absolute() else (base_dir / p).resolve()

    return settings.model_copy(
        update={
            "archive_dir": resolve(settings.archive_dir),
            "state_path": resolve(settings.state_path),
            "captures_dir": resolve(settings.captures_dir),
            "rules_dir": resolve(settings.rules_dir) if settings.rules_dir else None,
            "http": settings.http.model_copy(update={"ca_bundle": resolve(settings.http.ca_bundle)})
            if settings.http.ca_bundle
            else settings.http,
            "config_path": config_path,
        }
    )


# libyaml's safe loader when PyYAML was built with it: a sixth of the pure-Python
# one's time, which with a thousand sources is 0.2 ms of every run per source.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _load_yaml(text: str) -> Any:
    """``text`` parsed; what libyaml refuses is read by the pure-Python loader,
    whose messages (and verdict) are the ones a config's author sees."""
    try:
        return yaml.load(text, Loader=_LOADER)
    except yaml.YAMLError:
        return yaml.safe_load(text)


def load_settings(path: Path) -> Settings:
    """Read and validate ``path``; raises ConfigError listing every problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    try:
        raw = _load_yaml(text)
    except yaml.YAMLError as exc:
        raise ConfigError(yaml_problem(str(path), exc, text)) from None
    return settings_from_dict(raw, path.resolve().parent, path.resolve())
