"""An HTML page -> its main text and the rest of its visible text (chrome): trafilatura for the article,
lxml for the page's text nodes, and a tree-less tokenizer for pages nested past libxml2's depth limit."""

from __future__ import annotations

import functools
import re
from html.parser import HTMLParser

__all__ = ["extract_html"]

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


# Elements whose text a reader never sees.
_HIDDEN_TAGS = ("script", "style", "noscript", "template")


# The last page's result is kept: scoring a page read from a file (`dedup score`, `dedup index check`) reads its
# text through `read_file` and then gives `dedup.score` the page for its chrome, which would extract it again.
@functools.lru_cache(maxsize=1)
def extract_html(html: str) -> tuple[str, str]:
    """An HTML page -> (main text, chrome): the article, and the rest of the visible text (menus, footers)."""
    import trafilatura
    from lxml import html as lxml_html

    # Control characters have no place in HTML, and lxml refuses to move text that holds one.
    html = _CONTROL.sub("", html)
    parser = lxml_html.HTMLParser()
    try:
        tree = lxml_html.fromstring(html, parser=parser)
    except (ValueError, lxml_html.etree.ParserError):
        tree = None
    if tree is not None and not isinstance(tree.tag, str):
        tree = None  # a page that is only a comment or processing instruction: no element to walk
    if tree is not None and any(error.type_name == "ERR_RESOURCE_LIMIT" for error in parser.error_log):
        # libxml2 stops at 256 levels of nesting (pages of unclosed tags reach them) and keeps only the text
        # above; trafilatura parses with it too. The page's text is read by a tokenizer that keeps no tree.
        return _visible_text(html), ""
    main = trafilatura.extract(html, include_comments=False, include_tables=True, favor_recall=True) or ""
    if tree is None:
        return main, ""
    for node in tree.xpath("|".join(f"//{tag}" for tag in _HIDDEN_TAGS)):
        node.drop_tree()
    # Each text node of the page is chrome unless the extracted article contains it. Text nodes, not lines:
    # a page may put its whole body on one line.
    flat_main = " ".join(main.split())
    segments = (" ".join(node.split()) for node in tree.itertext())
    chrome = "\n".join(seg for seg in segments if seg and seg not in flat_main)
    if not main.strip():
        return chrome, ""  # no article found: the page is all chrome, but its text is still the document
    return main, chrome


class _TextCollector(HTMLParser):
    # Text outside script, style and the like; a line break at each block-level tag.
    HIDDEN = frozenset((*_HIDDEN_TAGS, "head"))
    BLOCKS = frozenset(("p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article"))

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.HIDDEN:
            self.hidden += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def _visible_text(html: str) -> str:
    collector = _TextCollector()
    collector.feed(html)
    collector.close()
    lines = (" ".join(line.split()) for line in "".join(collector.parts).split("\n"))
    return "\n".join(line for line in lines if line)
