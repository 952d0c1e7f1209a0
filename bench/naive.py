"""The baseline: the watcher a team would write in an afternoon.

Fetch each feed in turn with `requests` (no conditional GET, no connection reuse), parse it with
feedparser, test each rule with `in` (and `re.search` for `re:` keywords) on title + summary,
remember seen ids in a JSON file, print new matches.

    .venv/bin/python bench/naive.py FEEDS.txt RULES.json [--seen seen.json]

FEEDS.txt: one URL a line. RULES.json: [{"name", "any": [...], "all": [...], "none": [...]}]
with synonyms already spelled out (bench_cycle.py writes it from rules.yaml).
"""

import argparse
import json
import os
import re
import sys

import feedparser
import requests


def matches(rule, text):
    def has(word):
        if word.startswith("re:"):
            return re.search(word[3:], text, re.I) is not None
        return word.lower() in text

    if any(has(w) for w in rule.get("none", [])):
        return False
    if not all(has(w) for w in rule.get("all", [])):
        return False
    return not rule.get("any") or any(has(w) for w in rule["any"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("feeds")
    ap.add_argument("rules")
    ap.add_argument("--seen", default="seen.json")
    args = ap.parse_args()

    with open(args.feeds, encoding="utf-8") as f:
        urls = [line.strip() for line in f if line.strip()]
    with open(args.rules, encoding="utf-8") as f:
        rules = json.load(f)
    seen = set()
    if os.path.exists(args.seen):
        with open(args.seen, encoding="utf-8") as f:
            seen = set(json.load(f))

    new = alerts = 0
    for url in urls:
        try:
            response = requests.get(url, timeout=20)
            response.raise_for_status()
        except requests.RequestException as exc:
            print(f"ERROR {url}: {exc}", file=sys.stderr)
            continue
        feed = feedparser.parse(response.content)
        for entry in feed.entries:
            key = entry.get("id") or entry.get("link")
            if key in seen:
                continue
            seen.add(key)
            new += 1
            text = (entry.get("title", "") + " " + entry.get("summary", "")).lower()
            for rule in rules:
                if matches(rule, text):
                    alerts += 1
                    print(f"[{rule['name']}] {entry.get('title')} {entry.get('link')}")

    with open(args.seen, "w", encoding="utf-8") as f:
        json.dump(sorted(seen), f)
    print(f"naive: {len(urls)} feeds, {new} new items, {alerts} matches", file=sys.stderr)


if __name__ == "__main__":
    main()
