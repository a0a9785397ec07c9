"""An HTML page -> its main text and the rest of its visible text (chrome): trafilatura for the article,
lxml for the page's text nodes, and a tree-less tokenizer for pages nested past libxml2's depth limit or
with more than `MAX_TAGS` tags."""

from __future__ import annotations

import functools
import io
import re

__all__ = ["MAX_TAGS", "extract_html"]

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


# Past this many tags a page is read by the tokenizer that keeps no tree: the tree and the article extraction
# take time and memory that grow with the tags far faster than with the bytes, and no article has this many.
MAX_TAGS = 100_000

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
    if html.count("<") > MAX_TAGS:
        return _visible_text(html), ""
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


class _TextCollector:
    # An lxml parser target: text outside script, style and the like, a line break at each block-level tag,
    # and no tree kept (huge_tree lifts libxml2's depth limit, which matters only for a tree).
    HIDDEN = frozenset((*_HIDDEN_TAGS, "head"))
    BLOCKS = frozenset(("p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article"))

    def __init__(self) -> None:
        self.parts = io.StringIO()
        self.hidden = 0

    def start(self, tag: str, attrib: object) -> None:
        if tag in self.HIDDEN:
            self.hidden += 1
        elif tag in self.BLOCKS:
            self.parts.write("\n")

    def end(self, tag: str) -> None:
        if tag in self.HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in self.BLOCKS:
            self.parts.write("\n")

    def data(self, data: str) -> None:
        if not self.hidden:
            self.parts.write(data)

    def comment(self, text: str) -> None:
        pass

    def close(self) -> None:
        pass


def _visible_text(html: str) -> str:
    from lxml import etree

    collector = _TextCollector()
    parser = etree.HTMLParser(target=collector, huge_tree=True)
    try:
        parser.feed(html)
        parser.close()
    except etree.LxmlError:
        pass  # what was read before the parser gave up is still the page's text
    collector.parts.seek(0)
    lines = (" ".join(line.split()) for line in collector.parts)
    return "\n".join(line for line in lines if line)
