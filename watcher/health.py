"""Source health: how well each poll filled every field, and the state `watcher status` shows.

Pure: a Source, the announcements of one poll and the stored source row in; plain data out.
A poll is *degraded* when a mapped field is empty in every item (title and link always count;
published, deadline (`deadline` or `period`) and agency when `fields` maps them), when links are
missing on most items, or when most titles are the same text twice (`AB AB`: a selector that
catches two copies). A source's state is the first that applies: `disabled`, `never polled`,
`failing` (its last poll failed), `degraded` (its last full poll was), `stale` (it answers but
has given no new item for `stale_after`), `ok`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from watcher.clock import KST
from watcher.models import Announcement, Config, Source
from watcher.notify import opstext

FIELDS = ("title", "link", "published", "deadline", "agency")
BACKOFF_CAP = 6 * 3600.0
FUTURE_SLACK = timedelta(hours=1)  # clocks of boards run a little ahead


@dataclass(frozen=True)
class Problem:
    """One reason a poll is degraded (`kind`: empty | missing | doubled), or a warning."""

    field: str
    selector: str
    kind: str
    count: int  # items with the problem
    total: int  # items in the poll
    example: str = ""

    def english(self) -> str:
        head = f"{self.field} ({self.selector})"
        if self.kind == "empty":
            return f"{head} matched nothing in {self.total} items"
        if self.kind == "missing":
            return f"{head} missing in {self.count} of {self.total} items"
        return f"{head} doubled in {self.count} of {self.total} items, e.g. '{self.example}'"

    def korean(self) -> str:
        head = f"{self.field} ({self.selector})"
        if self.kind == "empty":
            return f"{head}: 항목 {self.total}개 모두 값이 없음"
        if self.kind == "missing":
            return f"{head}: 항목 {self.total}개 중 {self.count}개에 없음"
        return f"{head}: 항목 {self.total}개 중 {self.count}개 제목이 두 번 겹침 (예: '{self.example}')"


@dataclass
class PollHealth:
    """Field coverage of one poll: how many items carry each field, what degrades it, what to look at."""

    items: int
    coverage: dict[str, int]  # field -> items with it (agency only when mapped)
    selectors: dict[str, str]  # field -> where it is read from, for messages
    problems: list[Problem] = field(default_factory=list)  # degrade the source
    warnings: list[str] = field(default_factory=list)  # worth a look, do not degrade
    settings: str = ""  # settings_digest of the source that was parsed

    @property
    def degraded(self) -> bool:
        return bool(self.problems)

    def share(self, name: str) -> float | None:
        if name not in self.coverage or not self.items:
            return None
        return round(self.coverage[name] / self.items, 3)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str | None) -> PollHealth | None:
        if not text:
            return None
        try:
            data = json.loads(text)
            data["problems"] = [Problem(**p) for p in data.get("problems", [])]
            return cls(**data)
        except (ValueError, TypeError):
            return None


def settings_digest(source: Source) -> str:
    """What decides how a source's body is read (kind, items, fields, encoding, paging), as a short hash."""
    what = [source.kind, source.items, sorted(source.fields.items()), source.encoding, source.paging]
    return hashlib.sha1(json.dumps(what, ensure_ascii=False, default=str).encode()).hexdigest()[:16]


def needs_full_read(source: Source, row: dict[str, Any] | None) -> bool:
    """True when the source's last full poll was parsed with other settings (an edited selector) or
    left no health: its next poll must read the body whole, not ask 'not modified since'."""
    health = PollHealth.from_json((row or {}).get("health"))
    return health is None or health.settings != settings_digest(source)


def selectors(source: Source) -> dict[str, str]:
    """Field -> the selector (element, key) it is read from; only the fields a poll is held to,
    plus published and deadline as `-` when unmapped (their coverage is still counted)."""
    f = source.fields
    defaults = {"html": ("a", "a@href"), "json": ("title", "link")}.get(source.kind, ("title", "link"))
    out = {"title": f.get("title", defaults[0]), "link": f.get("link", defaults[1])}
    if "link_template" in f:
        out["link"] += f" -> {f['link_template']}"
    out["published"] = f.get("published", "-")
    out["deadline"] = f.get("deadline") or f.get("period") or "-"
    if "agency" in f:
        out["agency"] = f["agency"]
    return out


def doubled(title: str) -> bool:
    """The same text twice over (`AB AB`, `ABAB`, `AB A…`): two elements caught by one selector, e.g.
    a full title for hovering and a shortened one for the list."""
    words = title.split()
    count = len(words)
    if count % 2 == 0 and count and words[:count // 2] == words[count // 2:] and len(" ".join(words[:count // 2])) >= 2:
        return True  # `AB AB`: only the middle cut can give two equal halves
    # `AB A…`: the second part must end shortened, i.e. the last word ends in `.` or `…`
    for cut in range(1, count if words and words[-1].endswith((".", "…")) else 0):
        first, second = " ".join(words[:cut]), " ".join(words[cut:])
        if len(first) < 2:
            continue
        if second == first:
            return True
        short = second.rstrip(".…").rstrip()
        if short != second and short and first.startswith(short) and len(short) >= len(first) / 2:
            return True
    joined = "".join(words)
    mid = len(joined) // 2
    return len(joined) >= 8 and len(joined) % 2 == 0 and joined[:mid] == joined[mid:]


def _when(iso: str | None) -> datetime | None:
    if not iso:
        return None
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=KST)


def poll_health(source: Source, items: list[Announcement], now: datetime,
                max_age: float | None = None) -> PollHealth:
    """Coverage, problems and warnings of one poll's announcements."""
    sels = selectors(source)
    total = len(items)
    coverage = {name: sum(1 for a in items if getattr(a, name)) for name in sels}
    health = PollHealth(total, coverage, sels, settings=settings_digest(source))
    if not total:
        return health
    held = [n for n in sels if sels[n] != "-"]
    for name in held:
        if coverage[name] == 0:
            health.problems.append(Problem(name, sels[name], "empty", total, total))
    if 0 < coverage["link"] and total - coverage["link"] > total / 2:
        health.problems.append(Problem("link", sels["link"], "missing", total - coverage["link"], total))
    elif 0 < total - coverage["link"]:
        health.warnings.append(f"no link in {total - coverage['link']} of {total} items")
    twice = [a.title for a in items if doubled(a.title)]
    if twice:
        problem = Problem("title", sels["title"], "doubled", len(twice), total, twice[0][:80])
        if len(twice) > total / 2:
            health.problems.append(problem)
        else:
            health.warnings.append(problem.english())
    dates = [d for d in (_when(a.published) for a in items) if d is not None]
    future = [d for d in dates if d > now + FUTURE_SLACK]
    if future:
        health.warnings.append(f"{len(future)} of {total} items dated in the future (e.g. {max(future).date()})")
    if dates and max_age is not None and max(dates) < now - timedelta(seconds=max_age):
        health.warnings.append(f"all {len(dates)} dated items are older than max_age ({_span(max_age)}), "
                               f"newest {max(dates).date()}: none would be alerted")
    return health


def _span(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


def backoff_delay(interval: float, failures: int, retry_after: float | None = None) -> float:
    """Seconds until the next poll after `failures` consecutive failures (exponential, capped)."""
    if failures <= 0:
        delay = interval
    else:
        delay = min(interval * (2 ** (failures - 1)), max(interval, BACKOFF_CAP))
    return max(delay, retry_after or 0.0)


# ---- states --------------------------------------------------------------------------------------

def stale_since(source: Source, row: dict[str, Any], now: datetime) -> str | None:
    """When the source last gave a new item (else its first poll), if that is `stale_after` ago."""
    ref = row.get("last_new") or row.get("first_polled")
    moment = _when(ref)
    if moment is None or (now - moment).total_seconds() < source.stale_after:
        return None
    return ref


def state(source: Source, row: dict[str, Any] | None, now: datetime) -> tuple[str, str]:
    """(state, reason) of one configured source; `row` is its stored row (None: never stored)."""
    if not source.enabled:
        if source.env_missing:
            return "disabled", f"disabled until {' and '.join(source.env_missing)} is set"
        return "disabled", "enabled: false in sources.yaml"
    if not row or not row.get("last_poll"):
        return "never polled", "not polled yet"
    if int(row.get("failures") or 0) > 0:
        since = (row.get("failing_since") or "")[:16]
        return "failing", f"{row['failures']} failures since {since}: {row.get('last_error') or ''}".strip()
    health = PollHealth.from_json(row.get("health"))
    if health is not None and health.problems:
        return "degraded", "; ".join(p.english() for p in health.problems)
    ref = stale_since(source, row, now)
    if ref is not None:
        what = "no new item since" if row.get("last_new") else "no item since the first poll on"
        return "stale", f"{what} {ref[:10]} (stale_after {_span(source.stale_after)})"
    return "ok", ""


def next_poll(source: Source, row: dict[str, Any] | None) -> str | None:
    """When `run` polls the source next (its interval, backed off after failures, Retry-After)."""
    if not source.enabled:
        return None
    last = _when((row or {}).get("last_poll"))
    if last is None:
        return None  # due now
    due = last + timedelta(seconds=backoff_delay(source.interval, int(row.get("failures") or 0)))
    asked = _when(row.get("next_poll_after"))
    if asked is not None and asked > due:
        due = asked
    return due.astimezone(KST).isoformat(timespec="seconds")


class _Rows(Protocol):
    def health_rows(self) -> dict[str, dict[str, Any]]: ...


def source_rows(config: Config, store: _Rows, now: datetime) -> list[dict[str, Any]]:
    """One row per configured source, in sources.yaml order, enabled or not: id, name, kind, enabled,
    state, reason, last_success, last_error, failures, items, last_new, next_poll, coverage (field ->
    share of the last full poll's items), warnings. Sources stored but no longer configured are left out
    (`Store.health_rows` still has them)."""
    stored = store.health_rows()
    out = []
    for source in config.sources:
        row = stored.get(source.id)
        name, why = state(source, row, now)
        health = PollHealth.from_json((row or {}).get("health"))
        out.append({
            "id": source.id, "name": source.label, "kind": source.kind, "enabled": source.enabled,
            "state": name, "reason": why,
            "last_success": (row or {}).get("last_success"), "last_error": (row or {}).get("last_error"),
            "failures": int((row or {}).get("failures") or 0), "items": int((row or {}).get("items") or 0),
            "last_new": (row or {}).get("last_new"), "next_poll": next_poll(source, row),
            "polled_items": health.items if health else None,
            "coverage": {f: health.share(f) for f in health.coverage} if health else {},
            "warnings": [p.english() for p in health.problems] + health.warnings if health else [],
        })
    return out


# ---- ops alerts ----------------------------------------------------------------------------------

@dataclass
class Alerts:
    """What one successful poll asks of the outbox: messages (key, Korean text) and row flags."""

    messages: list[tuple[str, str]] = field(default_factory=list)
    flags: dict[str, int] = field(default_factory=dict)


def alerts(source: Source, row: dict[str, Any], now: datetime) -> Alerts:
    """One ops alert when a source has been degraded for its `alert_after`, one when it is whole
    again, and one when it has been stale for `stale_after` (again after it gives a new item)."""
    out = Alerts()
    label = f"'{source.label}' ({source.id})"
    since = row.get("degraded_since")
    if since and not row.get("degraded_alerted"):
        started = _when(since)
        if started is not None and (now - started).total_seconds() >= source.alert_after:
            health = PollHealth.from_json(row.get("health"))
            why = "; ".join(p.korean() for p in health.problems) if health else ""
            out.messages.append((f"ops:degraded:{source.id}:{since}",
                                 f"소스 {label}: {opstext.kst(since)}부터 항목 필드가 비어 있습니다 — {why}. "
                                 "항목은 계속 저장됩니다. 선택자를 확인하세요 (`watcher sources test "
                                 f"{source.id}`)."))
            out.flags["degraded_alerted"] = 1
    elif not since and row.get("degraded_alerted"):
        out.messages.append((f"ops:whole:{source.id}:{now.isoformat()}",
                             f"소스 {label}: 항목 필드가 다시 정상입니다."))
        out.flags["degraded_alerted"] = 0
    ref = stale_since(source, row, now)
    if ref is not None and not row.get("stale_alerted"):
        days = int((now - _when(ref)).total_seconds() // 86400)  # type: ignore[operator]
        out.messages.append((f"ops:stale:{source.id}:{ref}",
                             f"소스 {label}: {ref[:10]} 이후 {days}일 동안 새 공고가 없습니다 "
                             f"(stale_after {_span(source.stale_after)}). 주소와 선택자를 확인하세요."))
        out.flags["stale_alerted"] = 1
    return out
