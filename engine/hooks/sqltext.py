"""Splitting a script into its SQL statements (``split_statements=True``).

A ``;`` ends a statement unless it sits in a quoted string (``'...'``, ``"..."``), a
PostgreSQL dollar-quoted body (``$$...$$``, ``$fn$...$fn$``) or a comment (``--`` to the
end of the line, ``/* ... */``). Comments are kept with the statement they precede or
follow; a piece holding nothing but comments and blanks is dropped, as Airflow drops it.
"""

from __future__ import annotations

import re

_DOLLAR_TAG = re.compile(r"\$[A-Za-z_]*\$")
_COMMENTS = re.compile(r"--[^\n]*|/\*.*?\*/", re.DOTALL)


def split_statements(script: str) -> list[str]:
    """The statements of ``script``, stripped, without their closing ``;``."""
    pieces: list[str] = []
    start = index = 0
    while index < len(script):
        end = _skip_quoted(script, index)
        if end > index:
            index = end
            continue
        if script[index] == ";":
            pieces.append(script[start:index])
            start = index + 1
        index += 1
    pieces.append(script[start:])
    return [piece.strip() for piece in pieces if _COMMENTS.sub("", piece).strip()]


def _skip_quoted(script: str, index: int) -> int:
    """Where the quoted string or comment starting at ``index`` ends (``index`` itself
    when none starts there); an unclosed one runs to the end of the script."""
    char, pair = script[index], script[index : index + 2]
    if pair == "--":
        end = script.find("\n", index)
    elif pair == "/*":
        end = script.find("*/", index + 2)
        end = -1 if end < 0 else end + 2
    elif char in "'\"":
        end = _closing_quote(script, index)
    elif char == "$" and (tag := _DOLLAR_TAG.match(script, index)):
        end = script.find(tag.group(), tag.end())
        end = -1 if end < 0 else end + len(tag.group())
    else:
        return index
    return len(script) if end < 0 else end


def _closing_quote(script: str, index: int) -> int:
    quote = script[index]
    position = index + 1
    while True:
        position = script.find(quote, position)
        if position < 0:
            return -1
        if script[position + 1 : position + 2] != quote:  # '' is an escaped quote
            return position + 1
        position += 2
