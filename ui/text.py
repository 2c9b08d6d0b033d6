"""Showing untrusted text (model output, catalog data) safely in st.markdown.

Nothing here uses unsafe_allow_html. Markdown itself is still a risk: a
product called "**[click](http://evil)**" or a variant containing ":red[...]"
or "$x$" would be rendered as formatting, links or LaTeX. `escape_md`
backslash-escapes every ASCII punctuation character, which CommonMark
defines as always escapable, and breaks bare URLs with an invisible word
joiner, so the text shows as written and nothing becomes a link.
"""

from __future__ import annotations

import re
import string

from copy_engine.scoring.flags import Flag

_PUNCT = re.compile("([" + re.escape(string.punctuation) + "])")
# GitHub-flavoured Markdown turns bare URLs, www. names and e-mail addresses into
# links even when escaped; an invisible word joiner breaks the pattern.
_AUTOLINK = re.compile(r"(?i)(://|www\.|@)")
_JOINER = "\u2060"
_NEWLINES = re.compile(r"\s*\n\s*")

# Colour of a flagged span by kind (Streamlit's :color-background[...] directive).
FLAG_COLOURS = {
    "unsupported_number": "red",
    "unsupported_name": "red",
    "unsupported_claim": "red",
    "unsupported_word": "red",
    "off_product": "red",
    "banned": "red",
    "false_urgency": "orange",
    "doubtful": "violet",
}
FLAG_LABELS = {
    "unsupported_number": "number not in the product facts",
    "unsupported_name": "name not in the product facts",
    "unsupported_claim": "claim not in the product facts",
    "unsupported_word": "word not in the product facts",
    "off_product": "a different kind of product",
    "banned": "banned word",
    "false_urgency": "pressure or promise",
    "doubtful": "the copywriter model doubts this word",
}


_LINE_END = re.compile(r"\r\n?")


def _escape(text: str) -> str:
    """Escaped Markdown for a piece of text, surrounding spaces kept."""
    # Markdown ends a line at a lone CR too: left alone, "a\r\r    b" would become a code block.
    text = _LINE_END.sub("\n", text)
    text = _AUTOLINK.sub(lambda m: m.group(1)[0] + _JOINER + m.group(1)[1:], text)
    # A lone newline would be joined into one paragraph; keep the writer's breaks visible.
    return _NEWLINES.sub("  \n", _PUNCT.sub(r"\\\1", text))


def escape_md(text: object) -> str:
    """`text` as Markdown that renders literally: punctuation escaped, line breaks kept."""
    return _escape(("" if text is None else str(text)).strip())


def short(text: object, limit: int = 60) -> str:
    """One line of at most `limit` characters (for labels and option lists); not escaped."""
    line = " ".join(str(text or "").split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def highlight_flags(text: str, flags: list[Flag]) -> str:
    """Markdown of `text` with each flagged span on a coloured background; every piece escaped.

    Spans that do not match the text (e.g. after an edit) or overlap an earlier one are ignored.
    """
    pieces: list[str] = []
    pos = 0
    for flag in sorted(flags or [], key=lambda f: (f.start, f.end)):
        start, end = flag.start, flag.end
        if start < pos or end <= start or end > len(text):
            continue
        colour = FLAG_COLOURS.get(flag.kind, "red")
        pieces.append(_escape(text[pos:start]))
        pieces.append(f":{colour}-background[{_escape(text[start:end])}]")
        pos = end
    pieces.append(_escape(text[pos:]))
    return "".join(pieces).strip()


def flag_lines(flags: list[Flag]) -> list[str]:
    """One Markdown line per flag: the highlighted span, what kind of problem, and why."""
    lines = []
    for flag in flags or []:
        colour = FLAG_COLOURS.get(flag.kind, "red")
        label = FLAG_LABELS.get(flag.kind, "check this")
        lines.append(f":{colour}-background[{escape_md(flag.text)}] · {label}: {escape_md(flag.reason)}")
    return lines
