"""Markdown from DAG files (``doc_md``) as safe HTML.

The text is user input shown to every reader of the DAG, so raw HTML in it is never
passed through: CommonMark with ``html`` off writes ``<script>`` as text, and
markdown-it's link check drops ``javascript:``, ``vbscript:``, ``file:`` and ``data:``
links (images keep only ``data:image/...``). The page's CSP forbids inline scripts besides.
"""

from __future__ import annotations

from functools import cache

from markdown_it import MarkdownIt
from markupsafe import Markup


@cache
def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False}).enable("table").enable("strikethrough")


def render_markdown(text: str | None) -> Markup:
    """``text`` rendered as HTML, safe to put on a page (empty for None)."""
    if not text:
        return Markup("")
    return Markup(_parser().render(text))  # safe: the parser escapes raw HTML
