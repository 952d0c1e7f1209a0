"""Plain data passed along the pipeline: fetch -> parse -> match -> store -> notify.

Everything here is immutable and free of I/O so every stage can be tested on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

Kind = Literal["feed", "json", "html"]


@dataclass(frozen=True)
class ApiFiles:
    """Where an API item lists attachments (docs/CONFIG.md § detail): dotted paths into the item."""

    url: str  # the file's URL; with `each`, relative to each entry
    name: str | None = None  # the file's name, same form as `url`
    each: str | None = None  # a list in the item holding one file per entry (`files` -> [{file: {...}}])
    split: str | None = None  # several URLs and names in one string, joined by this (`@`)


@dataclass(frozen=True)
class Detail:
    """How to read the rest of a call (docs/CONFIG.md § detail): its detail page (`Announcement.link`)
    with CSS selectors, and the attachments the page links or the API item lists."""

    body: str | None = None  # selector of the call's text on its page
    period: str | None = None  # selector of its application period
    files: str | None = None  # selector of the attachment links on its page
    file_name: str | None = None  # a file's name, relative to its link: `@title`, `span`; default its text
    file_template: str | None = None  # script links: `fncFileDownload('bbs','a.pdf')` fills {0}, {1} ...
    api_files: tuple[ApiFiles, ...] = ()
    max_files: int = 3  # attachments read per call (공고문 first, forms never)
    wait: float = 120.0  # seconds a matched call's alert may wait for its reading

    @property
    def page(self) -> bool:
        """Whether the detail page itself is read."""
        return bool(self.body or self.period or self.files)


@dataclass(frozen=True)
class Source:
    """One entry of sources.yaml, defaults applied, `${VAR}` already substituted."""

    id: str
    url: str
    name: str = ""
    kind: Kind = "feed"
    enabled: bool = True
    tags: tuple[str, ...] = ()
    interval: float = 600.0  # seconds
    timeout: float = 20.0  # seconds, whole request
    max_bytes: int = 10_000_000
    items: str | None = None  # json: dotted path; html: CSS selector
    fields: dict[str, str] = field(default_factory=dict)  # announcement field -> source field
    headers: dict[str, str] = field(default_factory=dict)  # extra request headers
    encoding: str | None = None  # force a charset, overriding header and document
    alert_after: float = 86_400.0  # seconds of failure (or of degraded polls) before one ops alert
    stale_after: float = 30 * 86_400.0  # seconds without a new item before the source shows `stale`
    paging: dict[str, str | int] | None = None  # json pagination, see docs/DESIGN.md
    # what real boards need (watcher/config/boardkeys.py, docs/CONFIG.md): the request, the identity, the agency
    method: str = "GET"  # GET or POST
    body: dict[str, dict[str, Any]] | None = None  # POST body: {"form": {...}} or {"json": {...}}
    session_url: str | None = None  # fetched first, each poll, for the cookie it sets
    id_params: tuple[str, ...] = ()  # the item's id: these query parameters of its link
    id_pattern: str | None = None  # the item's id: this regex's first group (or match) in its link
    id_base64: dict[str, Any] | None = None  # the item's id: {"param": p, "keys": (k, ...)} in a base64 parameter
    agency: str | None = None  # fixed agency of the source's items that carry none
    env_missing: tuple[str, ...] = ()  # `enabled: auto` sources: unset ${VAR}s keeping it disabled
    detail: Detail | None = None  # how to read the rest of each new call (detail page, attachments)
    line: int = 0  # line in sources.yaml, for messages

    @property
    def label(self) -> str:
        return self.name or self.id


@dataclass(frozen=True)
class Announcement:
    """One public call as read from a source; text as published (watcher/textclean.py), never NFKC-folded."""

    source: str  # Source.id
    id: str  # guid; else canonical link; else hash of title+date
    title: str
    link: str | None  # absolute
    summary: str = ""  # plain text
    published: str | None = None  # ISO 8601 with +09:00, None when the source gives no date
    deadline: str | None = None  # ISO date (YYYY-MM-DD) or None
    agency: str | None = None
    canonical: str | None = None  # canonical link (see watcher.links.canonical_link)
    category: str = ""  # structured fields the source gives (hashtags, 지원분야, budget …), see parse/category.py
    # attachments the source's API lists with the item, (name, url); read by the detail stage
    files: tuple[tuple[str, str], ...] = field(default=(), compare=False)

    @property
    def key(self) -> str:
        """Identity across sources: canonical link, else source:id."""
        return self.canonical or f"{self.source}:{self.id}"


@dataclass(frozen=True)
class CallText(Announcement):
    """An announcement with the rest of its call as read (watcher/pipeline/details.py): the detail
    page's text and the attachments' texts, the `body` and `attachments` fields rules may match."""

    body: str = ""
    attachments: str = ""


@dataclass(frozen=True)
class Rule:
    name: str
    any: tuple[str, ...] = ()
    all: tuple[str, ...] = ()
    none: tuple[str, ...] = ()
    fields: tuple[str, ...] = ("title", "summary")
    sources: tuple[str, ...] | None = None  # None: every source
    channel: str = "#gongmo"
    mention: str | None = None
    label: str | None = None  # shown instead of the name on the web page (e.g. 의료기기)
    line: int = 0
    remind: tuple[float, ...] = ()  # seconds before the deadline, one reminder each (largest first)
    summary_at: str | None = None  # "HH:MM" Korea time: the channel's morning summary


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...] = ()
    synonyms: tuple[tuple[str, ...], ...] = ()
    synonym_names: tuple[str | None, ...] = ()  # per group of `synonyms`: its name in rules.yaml, or None
    max_age: float = 14 * 86_400.0  # seconds
    digest_over: int = 5
    ops_channel: str | None = None  # source health and config problems; None: log only
    public_url: str | None = None  # where `watcher serve` is reachable: a `웹에서 보기` link in alerts


@dataclass(frozen=True)
class Hit:
    """One rule matching one announcement."""

    rule: str
    channel: str
    keywords: tuple[str, ...]  # the keywords (as written in rules.yaml) that matched
    mention: str | None = None
    # What the item says where it matched: (field, text as the source published it), e.g.
    # ("title", "강소연구개발특구"); shown to people instead of keywords (which may be regexes).
    # An explanation, not part of the verdict: two hits of the same rule and keywords are equal.
    words: tuple[tuple[str, str], ...] = field(default=(), compare=False)
    label: str | None = field(default=None, compare=False)  # the rule's label, shown instead of its name


@dataclass(frozen=True)
class Config:
    sources: tuple[Source, ...]
    rules: RuleSet
    sources_path: str = "sources.yaml"
    rules_path: str = "rules.yaml"
    rules_text: str | None = None  # rules.yaml exactly as parsed (what `rules_in_force` records)

    def source(self, source_id: str) -> Source | None:
        return self._by_id.get(source_id)

    @cached_property
    def _by_id(self) -> dict[str, Source]:
        """Sources by id, built on first use: `run` looks a source up several times per poll, and
        a scan of 1,000 sources each time was 7% of its CPU (bench/bench_steady.py, py-spy)."""
        by_id: dict[str, Source] = {}
        for s in self.sources:
            by_id.setdefault(s.id, s)  # the first of a repeated id, as the scan found
        return by_id
