"""Config: load and validate sources.yaml and rules.yaml (FILE:LINE errors), the line-aware YAML
reader (yamlcheck.py) and the parsed-config cache (cache.py)."""
