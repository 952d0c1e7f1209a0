"""What an edit of one rule can change among the stored matches (pure; used by watcher/rematch.py).

The rules in force are kept with what each decides (`definition`: keywords as written, fields,
sources, channel, mention, and the synonym group of each keyword). Comparing the definition in
force with the edited one (`reach`) says which stored announcements the edit can move:

  - those holding a stored match of the rule, unless the edit only added keywords (they may lose
    it, or match other keywords);
  - with keywords added to `any` or `none`, those whose fields hold one of the added keywords
    (they may gain or lose the rule; nothing else can, since the old keywords did not match them
    before);
  - every announcement, when the edit widens the rule in another way: a keyword taken out of
    `all` or `none`, `any` emptied, fields, sources or a keyword's synonyms changed, a new rule
    (or no definition in force, as in a database written before definitions were kept).

Narrowing edits (a keyword added to `all`, taken out of `any`) and a new channel or mention
reach the stored matches; an edit that only adds keywords to `any` or `none` reaches only the
announcements holding an added keyword (a stored match without one stays as it is). A label,
reminder or summary time decides no match: an edit of those alone reaches nothing.

Within the window every stored announcement holds exactly the matches of the rules in force
(ingest and every re-match keep it so): that is what makes "an announcement without a stored
match of the rule did not match it before the edit" true.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from watcher.match.matcher import keyword_identity
from watcher.models import Rule, RuleSet

Definition = dict[str, Any]  # JSON-ready


@dataclass(frozen=True)
class Reach:
    matters: bool  # False: nothing the rule decides changed (label, reminders, summary time)
    everything: bool  # every stored announcement may gain or lose the rule: screen all of them
    added: tuple[str, ...] = ()  # keywords added to `any`: announcements holding one may gain it
    excluded: tuple[str, ...] = ()  # keywords added to `none`: announcements holding one may lose it
    words_kept: bool = False  # a stored match with the same keywords has the same words
    recheck: bool = True  # stored matches of the rule may change even where no added keyword is


def definitions(rules: RuleSet) -> dict[str, Definition]:
    """Per rule name, what the rule decides (see `definition`)."""
    groups = _groups(rules)
    return {rule.name: definition(rule, groups) for rule in rules.rules}


def definition(rule: Rule, groups: dict[str, list[str]]) -> Definition:
    """What `rule` decides, JSON-ready: keywords as written, fields, sources, channel, mention,
    and per keyword identity the identities of its synonyms (`groups`, see `_groups`)."""
    words = {keyword_identity(w) for w in (*rule.any, *rule.all, *rule.none)}
    return {
        "any": list(rule.any), "all": list(rule.all), "none": list(rule.none), "fields": list(rule.fields),
        "sources": None if rule.sources is None else sorted(rule.sources), "channel": rule.channel,
        "mention": rule.mention, "synonyms": {w: groups[w] for w in sorted(words) if w in groups},
    }


def _groups(rules: RuleSet) -> dict[str, list[str]]:
    """Identity -> sorted identities of every word in a synonym group with it (as Matcher reads them)."""
    out: dict[str, set[str]] = {}
    for group in rules.synonyms:
        ids = {keyword_identity(w) for w in group}
        for word in ids:
            out.setdefault(word, set()).update(ids)
    return {w: sorted(ids) for w, ids in out.items()}


def reach(old: Definition | None, new: Definition | None) -> Reach:
    """Which stored announcements an edit from `old` to `new` can move (None: no such rule, or not
    known). A removed rule reaches its stored matches only (they are dropped)."""
    if new is None:
        return Reach(matters=True, everything=False)
    if old is None or not isinstance(old, dict):
        return Reach(matters=True, everything=True)
    if old == new:
        return Reach(matters=False, everything=False)
    try:
        return _compare(old, new)
    except (KeyError, TypeError, AttributeError):  # a malformed definition in force: take it as unknown
        return Reach(matters=True, everything=True)


def _compare(old: Definition, new: Definition) -> Reach:
    was = {part: {keyword_identity(w) for w in old[part]} for part in ("any", "all", "none")}
    now = {part: {keyword_identity(w) for w in new[part]} for part in ("any", "all", "none")}
    common = set().union(*was.values()) & set().union(*now.values())
    same_words = (list(old["fields"]) == list(new["fields"])
                  and all(old["synonyms"].get(w) == new["synonyms"].get(w) for w in common))
    widened = (not same_words or old["sources"] != new["sources"] or not was["all"] <= now["all"]
               or not was["none"] <= now["none"] or (bool(old["any"]) and not new["any"]))
    if widened:
        return Reach(matters=True, everything=True, words_kept=same_words)
    added = tuple(w for w in new["any"] if keyword_identity(w) not in was["any"]) if old["any"] else ()
    excluded = tuple(w for w in new["none"] if keyword_identity(w) not in was["none"])
    # keywords only added to `any` and `none`: a stored match holding none of them stays as it is
    only_added = ([w for w in new["any"] if w not in added] == list(old["any"])
                  and [w for w in new["none"] if w not in excluded] == list(old["none"])
                  and all(old[k] == new[k] for k in ("all", "channel", "mention")))
    return Reach(matters=True, everything=False, added=added, excluded=excluded, words_kept=True,
                 recheck=not only_added)
