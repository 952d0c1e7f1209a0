"""Match: rules against announcements, pure (matcher.py; keywords.py, scanner.py), why an item
matched (explain.py), and what a rules edit can change (rulediff.py)."""
