"""The parsed config of `once` and `run`, kept in the database until either file changes.

Reading sources.yaml and rules.yaml with line numbers (ruamel.yaml round-trip, then validation) is
most of a warm cycle's start-up. `load_cached` keys the parsed `Config` by what decides it: each
file's path and bytes (SHA-256), the values of the `${NAME}` variables the files name, and the code
that parses them (the package version and the size and mtime of the modules that build a Config), and
the shipped catalogue the sources may include (its bytes and its variables, as for the two files).
A hit is unpickled from the `meta` table; a miss (or an unreadable entry) parses as `load_config`
does, raising ConfigError for a bad file, and stores the result. `watcher check` and the read-only
commands never use it: they always parse.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from watcher import __version__
from watcher.models import Config

META_KEY = "config_cache"
_VARIABLE = re.compile(rb"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_BUILDERS = ("config/load.py", "config/yamlcheck.py", "config/yamlsafe.py", "config/yamlwords.py",
             "config/envcheck.py", "config/boardkeys.py", "config/include.py", "config/catalog.py",
             "config/synonyms.py", "config/detail.py", "parse/category.py", "models.py")  # what a Config rests on
_CATALOG = "config/catalog.yaml"  # read like the two files: an included entry's ${NAME} counts too


def cache_key(paths: tuple[str | Path, ...], env: Mapping[str, str]) -> str | None:
    """What decides the parsed config; None when a file cannot be read (the parse will say why)."""
    digest = hashlib.sha256(__version__.encode())
    here = Path(__file__).resolve().parent.parent  # the watcher package
    for name in _BUILDERS:
        st = (here / name).stat()
        digest.update(f"{name}:{st.st_size}:{st.st_mtime_ns};".encode())
    for path in (*paths, here / _CATALOG):
        try:
            data = Path(path).read_bytes()
        except OSError:
            return None
        digest.update(f"{Path(path).resolve()}:{len(data)}:".encode())
        digest.update(hashlib.sha256(data).digest())
        for name in sorted(set(_VARIABLE.findall(data))):
            value = env.get(name.decode())
            digest.update(name + b"=" + (b"\0unset" if value is None else value.encode("utf-8", "replace")))
    return digest.hexdigest()


def load_cached(sources_path: str | Path, rules_path: str | Path, store: Any,
                env: Mapping[str, str] = os.environ) -> Config:
    """The parsed config: from the store when both files are unchanged, else parsed and stored."""
    key = cache_key((sources_path, rules_path), env)
    if key is not None:
        entry = store.meta_value(META_KEY)
        if entry and entry.startswith(key + ":"):
            try:
                config = pickle.loads(bytes.fromhex(entry[len(key) + 1:]))
            except Exception:  # an entry written by other code: parse again
                config = None
            if isinstance(config, Config):
                return config
    from watcher.config.load import load_config  # ruamel.yaml and validation only when something changed

    config = load_config(sources_path, rules_path, env)
    keep(sources_path, rules_path, store, config, env, key)
    return config


def keep(sources_path: str | Path, rules_path: str | Path, store: Any, config: Config,
         env: Mapping[str, str] = os.environ, key: str | None = None) -> None:
    """Store `config`, just parsed from the two files, for the next `load_cached` (e.g. when the
    database was created by this run, so the next one does not parse again)."""
    key = key or cache_key((sources_path, rules_path), env)
    if key is not None:
        with store.transaction():
            store.set_meta(META_KEY, f"{key}:{pickle.dumps(config, protocol=pickle.HIGHEST_PROTOCOL).hex()}")
