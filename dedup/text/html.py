"""An HTML page -> its main text and the rest of its visible text (chrome): trafilatura for the article,
lxml for the page's text nodes, and a tree-less tokenizer for pages nested past libxml2's depth limit or
with more than `MAX_TAGS` tags."""

from __future__ import annotations

import functools
import io
import re

__all__ = ["MAX_TAGS", "extract_html", "published_time"]

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


# What a page says of when it was published, strongest first: Open Graph's article metadata, schema.org's
# datePublished (a meta or any element's attribute, or JSON-LD), the names publishing systems use besides,
# then the first <time datetime>.
_PUBLISHED = ("article:published_time", "og:article:published_time", "datepublished")
_ALSO_PUBLISHED = ("pubdate", "publishdate", "publish-date", "publish_date", "parsely-pub-date", "dc.date.issued")
_TAG = re.compile(r"<(meta|time|[a-z][a-z0-9]*)\b([^<>]{0,2000})>", re.IGNORECASE)
_ATTRIBUTE = re.compile(r"""([a-zA-Z_:][-\w:.]*)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+))""")
_JSON_LD = re.compile(r'"datePublished"\s*:\s*"([^"]{1,64})"')


def published_time(html: str) -> str | None:
    """The publication time a page states in its markup, as written there (None when it states none).

    >>> published_time('<meta property="article:published_time" content="2024-03-04T10:15:00Z"><p>Text</p>')
    '2024-03-04T10:15:00Z'
    >>> published_time('<article><time datetime="2024-03-04">4 March</time></article>'), published_time("<p>x")
    ('2024-03-04', None)
    """
    found: dict[str, str] = {}
    first_time: str | None = None
    for match in _TAG.finditer(html):
        tag = match[1].lower()
        if tag not in ("meta", "time") and "itemprop" not in match[2].lower():
            continue
        attributes = {
            m.group(1).lower(): next(g for g in m.groups()[1:] if g is not None) for m in _ATTRIBUTE.finditer(match[2])
        }
        if tag == "time" and first_time is None and attributes.get("datetime", "").strip():
            first_time = attributes["datetime"].strip()
        name = next((attributes[k].lower() for k in ("property", "name", "itemprop") if k in attributes), "")
        value = attributes.get("content") or attributes.get("datetime") or ""
        if name in _PUBLISHED + _ALSO_PUBLISHED and value.strip():
            found.setdefault(name, value.strip())
    for name in _PUBLISHED:
        if name in found:
            return found[name]
    ld = _JSON_LD.search(html)
    if ld is not None:
        return ld[1]
    return next((found[name] for name in _ALSO_PUBLISHED if name in found), first_time)
