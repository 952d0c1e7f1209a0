"""The source catalogue shipped with the package (watcher/config/catalog.yaml).

Each entry is one source, config only: the keys a `sources.yaml` source takes (docs/CONFIG.md),
under its id, plus what the catalogue says about it: `covers` (what a team finds there), `key`
(the environment variable it needs, or null) and `verified` — `how`: `capture` (a real captured
response is fed through the entry in the project's tests), `scraper` (the entry agrees with a named
public scraper's selectors; `evidence` names the repository, path and date) or `unverified` — with
`evidence` and `date`. `sources.yaml` picks entries with `include: [id, ...]` (watcher/config/include.py).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from watcher.errors import ConfigError

PATH = Path(__file__).with_name("catalog.yaml")
META_KEYS = ("covers", "key", "verified", "note")
HOW = ("capture", "scraper", "unverified")


@dataclass(frozen=True)
class Entry:
    id: str
    settings: dict[str, Any]  # the sources.yaml keys of the entry, `id` left out
    covers: str
    key: str | None  # the environment variable the entry needs
    verified: str  # capture | scraper | unverified
    evidence: str
    date: str | None
    note: str | None = None
    tags: tuple[str, ...] = field(default=())

    @property
    def name(self) -> str:
        return str(self.settings.get("name") or self.id)

    @property
    def kind(self) -> str:
        return str(self.settings.get("kind") or "feed")

    @property
    def url(self) -> str:
        return str(self.settings.get("url") or "")

    def listing(self) -> dict[str, Any]:
        """What `watcher sources catalog --json` shows of the entry."""
        return {"id": self.id, "name": self.name, "kind": self.kind, "url": self.url, "covers": self.covers,
                "key": self.key, "verified": self.verified, "evidence": self.evidence, "date": self.date,
                "enabled": self.settings.get("enabled", True), "tags": list(self.tags)}


def _entry(ident: str, raw: Any) -> Entry:
    where = f"{PATH.name}: entry '{ident}'"
    if not isinstance(raw, dict):
        raise ConfigError([f"{where} must be a mapping"])
    verified = raw.get("verified")
    if not isinstance(verified, dict) or verified.get("how") not in HOW or not verified.get("evidence"):
        raise ConfigError([f"{where}: 'verified' needs 'how' ({', '.join(HOW)}) and 'evidence'"])
    if not isinstance(raw.get("covers"), str) or "key" not in raw:
        raise ConfigError([f"{where} needs 'covers' and 'key'"])
    settings = {k: v for k, v in raw.items() if k not in META_KEYS}
    date = verified.get("date")
    return Entry(id=ident, settings=settings, covers=raw["covers"], key=raw["key"], verified=verified["how"],
                 evidence=" ".join(str(verified["evidence"]).split()), date=None if date is None else str(date),
                 note=raw.get("note"), tags=tuple(settings.get("tags") or ()))


@functools.lru_cache(maxsize=1)
def entries() -> dict[str, Entry]:
    """Every catalogue entry by id, in the file's order (read once per process)."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        data = YAML(typ="safe").load(PATH.read_text(encoding="utf-8"))
    except (OSError, YAMLError) as exc:
        raise ConfigError([f"{PATH}: cannot read the catalogue: {' '.join(str(exc).split())[:200]}"]) from None
    if not isinstance(data, dict):
        raise ConfigError([f"{PATH.name}: expected a mapping of ids to entries"])
    return {str(ident): _entry(str(ident), raw) for ident, raw in data.items()}


def entry(ident: str) -> Entry | None:
    return entries().get(ident)
