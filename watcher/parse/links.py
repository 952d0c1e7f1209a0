"""Links and announcement ids.

Two items with the same canonical link are the same announcement (README "Alerts"): scheme and
host lower-cased, default port, `#fragment`, `utm_*` and `jsessionid` parameters and the
`;jsessionid=` path parameter dropped, the remaining query parameters kept as written, in order.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import urljoin, urlsplit, urlunsplit

_DEFAULT_PORTS = {"http": "80", "https": "443"}
_PATH_SESSION = re.compile(r";jsessionid=[^/?#;]*", re.I)
_ENTITY = re.compile(r"&(?:amp|#0*38|#x0*26);", re.I)
_CONTROL = re.compile(r"[\t\r\n]")
_NOT_LINKS = ("javascript:", "mailto:", "tel:", "data:", "vbscript:", "about:")
_JS_CALL = re.compile(r"[\w$.]+\s*\((?P<args>[^()]*)\)")
_SCRIPT = re.compile(
    r"^\s*(?:javascript:)?\s*[A-Za-z_$][\w$.]*\s*\([^()]*\)\s*;?\s*(?:return\s+(?:false|true)\s*;?\s*)?$", re.I
)
_LITERALS = {"true": "true", "false": "false"}
_JS_ARG = re.compile(
    r"""'(?P<s1>[^']*)'|"(?P<s2>[^"]*)"|(?P<n>-?\d+(?:\.\d+)?)|(?P<lit>\b(?:null|undefined|true|false)\b)""")


def _dropped_param(piece: str) -> bool:
    key = piece.split("=", 1)[0].lower()
    return key.startswith("utm_") or key == "jsessionid"


def canonical_link(url: str) -> str:
    """The form of `url` used to recognise one announcement across sources and polls."""
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    if not scheme or not parts.netloc:
        return url.split("#", 1)[0]
    userinfo, _, hostport = parts.netloc.rpartition("@")
    hostport = hostport.lower()
    host, colon, port = hostport.rpartition(":")
    if colon and "]" not in port and (port == "" or port == _DEFAULT_PORTS.get(scheme)):
        hostport = host
    netloc = f"{userinfo}@{hostport}" if userinfo else hostport
    path = _PATH_SESSION.sub("", parts.path) or "/"
    query = parts.query.replace("&amp;", "&")
    query = "&".join(p for p in query.split("&") if p and not _dropped_param(p))
    return urlunsplit((scheme, netloc, path, query, ""))


def shown_link(link: str | None) -> str | None:
    """The link as alerts, the desk, exports and `--json` show it: its canonical form (no `utm_*`,
    no `jsessionid`, no fragment), so what people click and share is what identifies the call."""
    return canonical_link(link) if link and link.strip() else link


def make_id(guid: str | None, link: str | None, title: str | None, published: str | None) -> str:
    """Announcement id: the guid; else the canonical link; else sha1 of `title + "\\n" + date`."""
    if guid and guid.strip():
        return guid.strip()
    if link and link.strip():
        return canonical_link(link)
    return hashlib.sha1(f"{title or ''}\n{published or ''}".encode()).hexdigest()


def absolute(base: str, href: str | None) -> str | None:
    """`href` resolved against `base`; None for empty, `#...` and `javascript:`/`mailto:` hrefs.

    `&amp;` left in an href is unescaped; tabs and newlines inside it are dropped, spaces encoded;
    a session id (`;jsessionid=...`, `?jsessionid=`) is dropped: it is never part of the address.
    """
    if not href:
        return None
    href = _CONTROL.sub("", href).strip()
    if "&" in href:
        href = _ENTITY.sub("&", href)
    if not href or href.startswith("#") or href.lower().startswith(_NOT_LINKS):
        return None
    if href[:8].lower().startswith(("https://", "http://")):
        url = href  # already absolute: the common case, no need to join
    else:
        try:
            url = urljoin(base, href)
            scheme = urlsplit(url).scheme
        except ValueError:
            return None
        if scheme not in ("http", "https"):
            return None
    if "jsessionid" in url.lower():
        url = _drop_session(url)
    return url.replace(" ", "%20")


def _drop_session(url: str) -> str:
    """`;jsessionid=...` path parameter and `jsessionid` query parameter removed."""
    base, sep, fragment = url.partition("#")
    path, qmark, query = _PATH_SESSION.sub("", base).partition("?")
    if qmark:
        query = "&".join(p for p in query.split("&") if p.split("=", 1)[0].lower() != "jsessionid")
    return path + ("?" + query if query else "") + sep + fragment


def is_script(value: str | None) -> bool:
    """True for `fn_view('123')` / `javascript:goView(5);`: a call, not an address."""
    return bool(value) and _SCRIPT.match(value) is not None


def script_args(script: str | None) -> list[str]:
    """Arguments of the first call in `fn_view('123', 'B01')` / `javascript:goView(5);` -> ['123', 'B01']."""
    if not script:
        return []
    m = _JS_CALL.search(script)
    if not m:
        return []
    # a literal counts as an argument (`goPage('S', null, '/biz/applyInfo/3840')`: the path is {2}); null is empty
    return [a.group("s1") or a.group("s2") or a.group("n") or _LITERALS.get(a.group("lit") or "", "")
            for a in _JS_ARG.finditer(m.group("args"))]


def link_from_script(base: str, script: str | None, template: str) -> str | None:
    """Link of an `onclick="fn_view('123')"` board: `template` ("view.do?idx={0}") filled with the
    call's arguments, resolved against `base`. None when the script has too few arguments."""
    args = script_args(script)
    if not args:
        return None
    try:
        href = template.format(*args)
    except (IndexError, KeyError, ValueError):
        return None
    return absolute(base, href)
