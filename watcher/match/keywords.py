"""Keywords as the matcher reads them: text normalisation (NFKC, case, middle dots, invisible
characters, white space), a literal keyword's pattern, `re:` keywords checked and compiled, and a
keyword's identity (two spellings of one keyword share it). Pure, no I/O; the rules of matching are
in watcher/match/matcher.py's docstring.
"""

from __future__ import annotations

import re
import unicodedata

WORD_MAX = 80  # characters of matched text kept per word (a regex may match a long stretch)

# Middle dots NFKC leaves apart (ㆍ U+318D becomes U+119E under NFKC; ･ becomes ・), and
# invisible characters that would split a word.
_DOTS = "\u00b7\u318d\u119e\u30fb\uff65\u2027\u2219\u22c5\u2022\u2e31"
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u00ad"
_FOLD = {**dict.fromkeys(_DOTS, "\u00b7"), **dict.fromkeys(_INVISIBLE, "")}
_FOLD_RE = re.compile(f"[{_DOTS}{_INVISIBLE}]")
_WS = re.compile(r"\s+")
_SOH = re.compile("\x01")

# "Latin letter or digit" for whole-word ends: ASCII letters and digits, Latin-1 and Latin
# Extended-A/B letters (case-folded text, so no upper case is needed).
_LATIN = "0-9a-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f"
_LATIN_RE = re.compile(f"[{_LATIN}]")


def normalize(text: str | None) -> str:
    """NFKC, middle dots folded, invisible characters dropped, case-folded; spaces are kept."""
    if not text:
        return ""
    if _FOLD_RE.search(text):  # first: ㆍ is not NFKC-stable and would slow NFKC down
        for char, to in _FOLD.items():  # str.replace per character present: far faster than re.sub
            if char in text:
                text = text.replace(char, to)
    return unicodedata.normalize("NFKC", text).casefold()


def _fold(m: re.Match[str]) -> str:
    return _FOLD[m.group()]


def _squash(text: str) -> str:
    return _WS.sub("", text)


def _latin(ch: str) -> bool:
    return _LATIN_RE.match(ch) is not None


def literal_pattern(keyword: str) -> str:
    r"""The exact regex of a plain keyword, to be searched in `normalize`d text without flags:
    `\s*` between letters (not between two Latin letters or digits written together), and
    lookarounds keeping Latin or digit ends off Latin letters and digits."""
    words = _WS.split(normalize(keyword).strip())
    chars = "".join(words)
    if not chars:
        raise ValueError("empty keyword")
    glued = set()  # indexes i where chars[i] and chars[i + 1] were written together
    i = 0
    for word in words:
        glued.update(range(i, i + len(word) - 1))
        i += len(word)
    out = [re.escape(chars[0])]
    if _latin(chars[0]):
        out.append(f"(?<![{_LATIN}].)")
    for i in range(1, len(chars)):
        if not (i - 1 in glued and _latin(chars[i - 1]) and _latin(chars[i])):
            out.append(r"\s*")
        out.append(re.escape(chars[i]))
    if _latin(chars[-1]):
        out.append(f"(?![{_LATIN}])")
    return "".join(out)


def original_text(raw: str, norm: str, start: int, end: int) -> str:
    """The words of `raw` (as published) behind `norm[start:end]`, where norm = normalize(raw);
    white space collapsed. Falls back to the normalised piece when the two cannot be lined up
    (NFKC joining characters, e.g. conjoining jamo)."""
    wanted = norm[start:end]
    if len(norm) == len(raw) and _squash(normalize(raw[start:end])) == _squash(wanted):
        return " ".join(raw[start:end].split())[:WORD_MAX]  # one character each way: the same offsets
    pos, begin, piece = 0, None, None
    for i, ch in enumerate(raw):
        size = len(normalize(ch))
        if begin is None and pos + size > start:
            begin = i
        pos += size
        if pos >= end and begin is not None:
            piece = raw[begin:i + 1]
            break
    if piece is None or _squash(normalize(piece)) != _squash(wanted):
        piece = wanted
    return " ".join(piece.split())[:WORD_MAX]


def keyword_problem(keyword: str) -> str | None:
    """Why `keyword` cannot be compiled as the Matcher compiles it (config validation uses this, so
    a rules file that checks clean always compiles), or None when it can."""
    try:
        pattern = _compile_keyword(keyword)
    except (ValueError, re.error) as err:
        return str(err)
    except Exception as err:  # the `regex` module refused what `re` accepts
        return str(err).splitlines()[0] if str(err) else type(err).__name__
    if _is_regex(keyword):
        from watcher.match.guard import regex_problem

        return regex_problem(pattern.pattern, pattern.flags)
    return None


def _is_regex(keyword: str) -> bool:
    return keyword.startswith("re:")


def _compile_keyword(keyword: str) -> re.Pattern[str]:
    """A literal's exact `re` pattern; a `re:` keyword's pattern bounded in time (watcher/match/guard.py)."""
    if _is_regex(keyword):
        if not keyword[3:]:
            raise ValueError("empty regular expression")
        from watcher.match.guard import Bounded

        try:  # as the text: dots folded, NFKC (ｒｅ -> re)
            checked = re.compile(unicodedata.normalize("NFKC", _FOLD_RE.sub(_fold, keyword[3:])), re.I)
        except re.error:  # NFKC made it invalid (`（` -> `(`): take it as written
            checked = re.compile(keyword[3:], re.I)
        return Bounded(keyword, checked.pattern, checked.flags)  # type: ignore[return-value]
    return re.compile(literal_pattern(keyword))


def keyword_identity(word: str) -> str:
    """Two keywords with the same identity are the same keyword (also for synonym groups)."""
    return _identity(word)


def _identity(word: str) -> str:
    """Two words with the same identity are the same keyword (synonym lookup, atom sharing)."""
    if _is_regex(word):
        return "re:" + unicodedata.normalize("NFKC", word[3:])
    return _squash(normalize(word))
