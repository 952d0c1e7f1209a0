"""The `category` announcement field: what a source says about a call besides its text, as text.

APIs give structured fields the title does not repeat: 기업마당 `hashtags` and 지원분야
(`pldirSportRealmLclasCodeNm`), K-Startup 지원분야 (`supt_biz_clsfc`) and 신청대상 (`aply_trgt_ctnt`),
NTIS `budget` and the ministry (`author`) beside the agency. A source maps one or more of them to
`category` (`fields: {category: [hashtags, pldirSportRealmLclasCodeNm]}`); their values, cleaned as
any source text, are joined with `, ` in the order given, empty and repeated ones left out. Rules
search the field like any other (`fields: [title, summary, category]`).

In `Source.fields` one path stays `category`; several become `category.1`, `category.2`, … so that
every parser reads them as it reads any mapped field, and `make_announcement` joins them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

CATEGORY = "category"
SEPARATOR = ", "


def expand(paths: Iterable[str]) -> dict[str, str]:
    """`Source.fields` entries for the paths mapped to `category`."""
    paths = list(paths)
    if len(paths) == 1:
        return {CATEGORY: paths[0]}
    return {f"{CATEGORY}.{i}": path for i, path in enumerate(paths, 1)}


def is_category(key: str) -> bool:
    return key == CATEGORY or (key.startswith(CATEGORY + ".") and key[len(CATEGORY) + 1:].isdigit())


def paths(fields: Mapping[str, str]) -> list[str]:
    """The paths a source maps to `category`, in order (for people: `sources test`, docs)."""
    keys = sorted((k for k in fields if is_category(k)), key=_order)
    return [fields[k] for k in keys]


def join(raw: Mapping[str, str | None], clean: Callable[[str], str] | None = None) -> str:
    """The `category` text of one item from its raw fields: each mapped value cleaned, in order."""
    out: list[str] = []
    for key in sorted((k for k in raw if is_category(k)), key=_order):
        value = raw[key]
        text = (clean(value) if clean else " ".join(value.split())) if isinstance(value, str) else ""
        if text and text not in out:
            out.append(text)
    return SEPARATOR.join(out)


def _order(key: str) -> int:
    return 0 if key == CATEGORY else int(key[len(CATEGORY) + 1:])
