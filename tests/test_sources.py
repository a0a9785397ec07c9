"""Reading inputs: every file becomes documents or a skipped row with a reason, and the scan goes on."""

from __future__ import annotations

import gzip
import io
import json
import os
import threading
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import dedup
from dedup.io.sources import Corpus, decode, read_file, read_source, repair
from dedup.text.html import extract_html

ARTICLE = "The council voted on Tuesday to rebuild the harbor bridge at a cost of 84 million dollars. " * 5
OTHER = "Fishermen in the northern bay rejected the new quota and promised to keep their boats in port. " * 5
NAV = ("Home", "News", "Sport", "Weather")
FOOTER = "Copyright 2026 Example Courier. All rights reserved."
PAGE = """<html><head><title>Bridge vote</title><style>p {{color: red}}</style><script>var tracker = 1;</script>
</head><body><header><nav>{nav}</nav></header>
<article><h1>Council approves bridge</h1>{paragraphs}</article>
<footer><p>{footer}</p><a href="/privacy">Privacy policy</a></footer>
</body></html>"""


def page(paragraphs: int = 3) -> str:
    """A news page: a nav menu and a footer around an article about the harbor bridge."""
    return PAGE.format(
        nav=" ".join(f'<a href="/{n.lower()}">{n}</a>' for n in NAV),
        paragraphs="".join(f"<p>{ARTICLE} Paragraph {i}.</p>" for i in range(paragraphs)),
        footer=FOOTER,
    )


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


def jsonl(*records: object) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


def read(*paths: Path | str, max_bytes: int | None = None) -> tuple[dict[str, dedup.Document], dict[str, str]]:
    """Documents by id and skip reasons by path, read in this process (so monkeypatches apply)."""
    corpus = Corpus(list(paths)) if max_bytes is None else Corpus(list(paths), max_bytes=max_bytes)
    documents = {d.id: d for d in corpus}
    return documents, {s.path: s.reason for s in corpus.skipped}


# --- folders, ids and single files ------------------------------------------------------------------------


def test_folders_are_read_recursively_with_slash_separated_ids_relative_to_the_folder(tmp_path: Path) -> None:
    write(tmp_path / "top.txt", ARTICLE)
    write(tmp_path / "a" / "b" / "deep.md", "# Title\n\n" + OTHER)
    write(tmp_path / "a" / "c" / "side.txt", OTHER)
    documents, skipped = read(tmp_path)
    assert set(documents) == {"top.txt", "a/b/deep.md", "a/c/side.txt"}
    assert not skipped
    assert documents["a/b/deep.md"].text.startswith("# Title")


def test_a_single_file_argument_is_read_as_one_document(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "notes" / "a.txt", ARTICLE)
    write(tmp_path / "notes" / "b.txt", OTHER)
    monkeypatch.chdir(tmp_path)
    documents, skipped = read(Path("notes") / "a.txt")
    assert list(documents) == ["notes/a.txt"] and not skipped
    assert documents["notes/a.txt"].text == ARTICLE


def test_files_and_folders_can_be_scanned_together(tmp_path: Path) -> None:
    single = write(tmp_path / "single.txt", ARTICLE)
    write(tmp_path / "folder" / "inside.txt", OTHER)
    result = dedup.scan([single, tmp_path / "folder"], workers=1)
    ids = [d.id for d in result.documents]
    assert len(ids) == 2 and "inside.txt" in ids and any(i.endswith("single.txt") for i in ids)


def test_txt_and_md_files_give_their_text_unchanged(tmp_path: Path) -> None:
    write(tmp_path / "a.txt", ARTICLE)
    write(tmp_path / "b.md", "## Heading\n\n* " + OTHER)
    documents, _ = read(tmp_path)
    assert documents["a.txt"].text == ARTICLE
    assert documents["b.md"].text == "## Heading\n\n* " + OTHER


def test_gzipped_text_is_decompressed(tmp_path: Path) -> None:
    write(tmp_path / "a.txt.gz", gzip.compress(ARTICLE.encode()))
    write(tmp_path / "b.md.gz", gzip.compress(OTHER.encode()))
    documents, skipped = read(tmp_path)
    assert {i: d.text for i, d in documents.items()} == {"a.txt.gz": ARTICLE, "b.md.gz": OTHER}
    assert not skipped


# --- HTML -------------------------------------------------------------------------------------------------


def test_extract_html_gives_the_article_as_text_and_menus_and_footer_as_chrome() -> None:
    text, chrome = extract_html(page())
    assert "harbor bridge" in text
    assert FOOTER not in text and "Privacy policy" not in text and "var tracker" not in text
    assert FOOTER in chrome and "Privacy policy" in chrome
    assert all(item in chrome.splitlines() for item in NAV)
    assert "harbor bridge" not in chrome and "var tracker" not in chrome and "color: red" not in chrome


@pytest.mark.parametrize("name", ["page.html", "page.htm", "page.html.gz"])
def test_html_pages_in_a_folder_become_their_main_text_with_chrome_kept_aside(tmp_path: Path, name: str) -> None:
    html = page().encode()
    write(tmp_path / name, gzip.compress(html) if name.endswith(".gz") else html)
    documents, skipped = read(tmp_path)
    assert list(documents) == [name] and not skipped
    doc = documents[name]
    assert "harbor bridge" in doc.text and FOOTER not in doc.text
    assert FOOTER in doc.chrome and "harbor bridge" not in doc.chrome


def test_an_html_page_without_an_article_still_gives_its_visible_text() -> None:
    text, chrome = extract_html("<html><body><div>Short notice: the office is closed on Friday.</div></body></html>")
    assert "office is closed" in text and "office is closed" not in chrome


def test_a_page_nested_deeper_than_the_html_parser_follows_still_gives_its_visible_text() -> None:
    # 300 unclosed <font> tags: libxml2 stops at 256 levels, and the tree it returns holds no text.
    body = "<font>" * 300 + f"<p>{ARTICLE}</p><p>Tom &amp; Jerry</p><script>var tracker = 1;</script>"
    text, chrome = extract_html(f"<html><head><style>p {{ color: red }}</style></head><body>{body}</body></html>")
    assert text.splitlines() == [" ".join(ARTICLE.split()), "Tom & Jerry"] and not chrome
    # A title and a menu above the depth libxml2 stops at are all its tree keeps: the deeper text still counts.
    page = f"<html><head><title>Daily</title></head><body><nav>Home | News</nav>{body}</body></html>"
    assert " ".join(ARTICLE.split()) in extract_html(page)[0].splitlines()


# --- JSON and JSONL ---------------------------------------------------------------------------------------


def test_a_json_object_is_one_document_with_its_id(tmp_path: Path) -> None:
    write(tmp_path / "one.json", json.dumps({"id": "story-1", "title": "x", "text": ARTICLE}))
    documents, skipped = read(tmp_path)
    assert list(documents) == ["story-1"] and documents["story-1"].text == ARTICLE and not skipped


def test_a_json_list_gives_one_document_per_object(tmp_path: Path) -> None:
    records = [{"id": "j1", "text": ARTICLE}, {"url": "https://example.org/j2", "text": OTHER}, {"text": "third"}]
    write(tmp_path / "list.json", json.dumps(records))
    documents, skipped = read(tmp_path)
    assert set(documents) == {"j1", "https://example.org/j2", "list.json:3"} and not skipped


@pytest.mark.parametrize("name", ["feed.jsonl", "feed.jsonl.gz"])
def test_jsonl_gives_one_document_per_line_with_id_then_url_then_path_and_line(tmp_path: Path, name: str) -> None:
    lines = jsonl(
        {"id": "r1", "url": "https://example.org/ignored", "text": "first"},
        {"url": "https://example.org/2", "text": "second"},
        {"text": "third"},
    )
    write(tmp_path / name, gzip.compress(lines.encode()) if name.endswith(".gz") else lines)
    documents, skipped = read(tmp_path)
    assert {i: d.text for i, d in documents.items()} == {
        "r1": "first",
        "https://example.org/2": "second",
        f"{name}:3": "third",
    }
    assert not skipped


def test_an_invalid_jsonl_line_is_skipped_and_the_other_lines_are_read(tmp_path: Path) -> None:
    write(
        tmp_path / "feed.jsonl",
        jsonl({"id": "ok1", "text": "fine"}) + "{not json\n" + jsonl({"id": "ok2", "text": "also"}),
    )
    documents, skipped = read(tmp_path)
    assert set(documents) == {"ok1", "ok2"}
    assert list(skipped) == ["feed.jsonl:2"] and skipped["feed.jsonl:2"].startswith("invalid JSON")


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ({"id": "x", "title": "no body"}, "no text field"),
        ({"id": "x", "text": "   "}, "empty text"),
        ({"id": "x", "text": 42}, "its 'text' field holds a int, not text"),
        ([1, 2, 3], "must be a JSON object or string"),
    ],
)
def test_a_jsonl_record_without_text_is_skipped_with_its_line(tmp_path: Path, record: object, reason: str) -> None:
    write(tmp_path / "feed.jsonl", jsonl({"id": "ok", "text": "fine"}, record))
    documents, skipped = read(tmp_path)
    assert list(documents) == ["ok"]
    assert list(skipped) == ["feed.jsonl:2"] and reason in skipped["feed.jsonl:2"]


def test_a_record_carries_its_date_from_date_then_published_then_timestamp(tmp_path: Path) -> None:
    write(
        tmp_path / "feed.jsonl",
        jsonl(
            {"id": "a", "text": ARTICLE, "date": "2024-03-04"},
            {"id": "b", "text": ARTICLE, "published": "2024-03-04T01:00:00+01:00"},
            {"id": "c", "text": ARTICLE, "timestamp": 1709510400000},
            {"id": "d", "text": ARTICLE, "date": "soon", "published": "Mon, 04 Mar 2024 00:00:00 GMT"},
            {"id": "e", "text": ARTICLE, "date": "not a date"},
            {"id": "f", "text": ARTICLE},
        ),
    )
    documents, _ = read(tmp_path)
    assert {k: d.published for k, d in documents.items()} == {
        "a": 1709510400.0,
        "b": 1709510400.0,
        "c": 1709510400.0,
        "d": 1709510400.0,
        "e": None,
        "f": None,
    }


@pytest.mark.parametrize(
    ("head", "published"),
    [
        ('<meta property="article:published_time" content="2024-03-04T00:00:00Z">', 1709510400.0),
        ("<meta itemprop='datePublished' content='2024-03-04'>", 1709510400.0),
        ('<script type="application/ld+json">{"datePublished": "2024-03-04T00:00:00Z"}</script>', 1709510400.0),
        ('<meta name="parsely-pub-date" content="2024-03-04T00:00:00Z">', 1709510400.0),
        ('<meta name="description" content="2024-03-04">', None),
    ],
)
def test_an_html_page_carries_the_publication_time_its_markup_states(
    tmp_path: Path, head: str, published: float | None
) -> None:
    write(tmp_path / "page.html", page().replace("<title>", head + "<title>"))
    documents, _ = read(tmp_path)
    assert documents["page.html"].published == published


def test_a_pages_published_time_metadata_comes_before_its_time_elements(tmp_path: Path) -> None:
    # A page's <time> elements may date its comments or related stories; its metadata dates the article.
    head = '<meta content="2024-03-04" property="article:published_time" />'
    html = page().replace("<title>", head + "<title>").replace("<h1>", '<time datetime="2024-03-09">9 March</time><h1>')
    write(tmp_path / "page.html", html)
    documents, _ = read(tmp_path)
    assert documents["page.html"].published == 1709510400.0


def test_an_html_page_without_metadata_takes_its_first_time_element(tmp_path: Path) -> None:
    write(tmp_path / "page.html", page().replace("<h1>", '<time datetime="2024-03-04">4 March</time><h1>'))
    documents, _ = read(tmp_path)
    assert documents["page.html"].published == 1709510400.0


def test_an_invalid_json_file_is_skipped_as_a_whole(tmp_path: Path) -> None:
    write(tmp_path / "good.txt", ARTICLE)
    write(tmp_path / "bad.json", '{"id": "x", "text": ')
    documents, skipped = read(tmp_path)
    assert list(documents) == ["good.txt"] and skipped["bad.json"].startswith("invalid JSON")


# --- bad files: skipped with a reason, and the scan goes on -----------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("blob.txt", b"\x00\x01\x02binary\x00" * 100, "binary file (NUL bytes)"),
        ("empty.txt", b"", "empty file"),
        ("blank.md", b"  \n\t\r\n   \n", "empty file"),
        ("picture.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, "unsupported file type"),
        ("notes.docx", ARTICLE.encode(), "unsupported file type"),
        ("broken.txt.gz", b"not gzip at all", "corrupt gzip"),
        ("truncated.txt.gz", gzip.compress(ARTICLE.encode())[:30], "corrupt gzip"),
        (".hidden.txt", ARTICLE.encode(), "hidden file"),
    ],
)
def test_a_bad_file_is_skipped_with_its_reason_and_the_scan_goes_on(
    tmp_path: Path, name: str, content: bytes, reason: str
) -> None:
    write(tmp_path / "good.txt", ARTICLE)
    write(tmp_path / name, content)
    write(tmp_path / "z-after.txt", OTHER)
    documents, skipped = read(tmp_path)
    assert set(documents) == {"good.txt", "z-after.txt"}
    assert list(skipped) == [name] and reason in skipped[name]


def test_a_hidden_folder_is_skipped_with_a_reason_and_not_read(tmp_path: Path) -> None:
    write(tmp_path / "good.txt", ARTICLE)
    write(tmp_path / ".git" / "objects.txt", OTHER)
    documents, skipped = read(tmp_path)
    assert list(documents) == ["good.txt"]
    assert skipped == {".git": "hidden folder"}


@pytest.mark.parametrize("name", ["locked.txt", "locked.txt.gz"])
def test_an_unreadable_file_is_skipped_as_unreadable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    # The tests run as root, which chmod cannot lock out: refuse to open this one path instead.
    locked = write(tmp_path / name, gzip.compress(ARTICLE.encode()) if name.endswith(".gz") else ARTICLE)
    write(tmp_path / "good.txt", OTHER)
    real_open = Path.open

    def refuse(self: Path, *args: object, **kwargs: object) -> object:
        if self == locked:
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(Path, "open", refuse)
    documents, skipped = read(tmp_path)
    assert list(documents) == ["good.txt"]
    assert skipped == {name: "unreadable: Permission denied"}


def test_a_fifo_is_skipped_as_not_a_regular_file_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.txt")
    write(tmp_path / "good.txt", ARTICLE)
    outcome: list[tuple[dict[str, dedup.Document], dict[str, str]]] = []
    reader = threading.Thread(target=lambda: outcome.append(read(tmp_path)), daemon=True)
    reader.start()
    reader.join(timeout=20)
    if reader.is_alive():
        # Opening the write end releases a reader blocked on the FIFO, so the test fails instead of hanging.
        os.close(os.open(tmp_path / "pipe.txt", os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail("reading a folder with a FIFO blocked")
    documents, skipped = outcome[0]
    assert list(documents) == ["good.txt"]
    assert skipped == {"pipe.txt": "not a regular file"}


def test_a_fifo_given_as_the_argument_is_skipped_too(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.jsonl"
    os.mkfifo(fifo)
    documents, skipped = read(fifo)
    assert not documents and list(skipped.values()) == ["not a regular file"]


@pytest.mark.parametrize(("link", "target"), [("loop", "."), ("sub/up", "..")])
def test_a_symlink_loop_ends_and_is_reported(tmp_path: Path, link: str, target: str) -> None:
    write(tmp_path / "good.txt", ARTICLE)
    write(tmp_path / "sub" / "inner.txt", OTHER)
    (tmp_path / link).symlink_to(target, target_is_directory=True)
    documents, skipped = read(tmp_path)
    assert set(documents) == {"good.txt", "sub/inner.txt"}
    assert skipped == {link: "symlink to a folder already scanned (loop or alias)"}


def test_a_broken_symlink_is_skipped_as_unreadable(tmp_path: Path) -> None:
    write(tmp_path / "good.txt", ARTICLE)
    (tmp_path / "dangling.txt").symlink_to(tmp_path / "missing.txt")
    documents, skipped = read(tmp_path)
    assert list(documents) == ["good.txt"]
    assert list(skipped) == ["dangling.txt"] and skipped["dangling.txt"].startswith("unreadable")


def test_an_unreadable_subfolder_is_reported_not_silently_dropped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As root a chmod 000 folder stays readable: make listing this one folder fail instead.
    write(tmp_path / "good.txt", ARTICLE)
    write(tmp_path / "locked" / "inside.txt", OTHER)
    real_scandir = os.scandir

    def refuse(path: object = ".") -> object:
        if Path(os.fsdecode(path)) == tmp_path / "locked":  # type: ignore[arg-type]
            raise PermissionError(13, "Permission denied", os.fsdecode(path))  # type: ignore[arg-type]
        return real_scandir(path)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "scandir", refuse)
    documents, skipped = read(tmp_path)
    assert list(documents) == ["good.txt"]
    assert "locked" in skipped and "Permission denied" in skipped["locked"]


def test_a_file_over_max_bytes_is_skipped_and_one_at_the_limit_is_read(tmp_path: Path) -> None:
    write(tmp_path / "at-limit.txt", "a" * 100)
    write(tmp_path / "over.txt", "a" * 101)
    documents, skipped = read(tmp_path, max_bytes=100)
    assert list(documents) == ["at-limit.txt"]
    assert list(skipped) == ["over.txt"] and skipped["over.txt"].startswith("too large: 101 bytes")


def test_a_gzip_that_inflates_past_max_bytes_is_skipped(tmp_path: Path) -> None:
    write(tmp_path / "bomb.txt.gz", gzip.compress(b"word " * 100_000))
    assert (tmp_path / "bomb.txt.gz").stat().st_size < 10_000
    documents, skipped = read(tmp_path, max_bytes=10_000)
    assert not documents and skipped["bomb.txt.gz"].startswith("too large once decompressed")


def test_read_file_reports_skips_instead_of_raising(tmp_path: Path) -> None:
    documents, skipped = read_file(write(tmp_path / "blob.txt", b"\x00" * 64), "blob.txt")
    assert documents == [] and [(s.path, s.reason) for s in skipped] == [("blob.txt", "binary file (NUL bytes)")]


# --- encodings --------------------------------------------------------------------------------------------

CP1252_TEXT = (
    "Caf\u00e9 owners said \u201cit\u2019s over\u201d after the vote. "
    "The mayor\u2019s office called the decision \u201cpremature\u201d and promised a new caf\u00e9 licence."
)


def test_a_cp1252_file_is_decoded_with_its_accents_and_curly_quotes(tmp_path: Path) -> None:
    data = CP1252_TEXT.encode("cp1252")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    write(tmp_path / "legacy.txt", data)
    documents, skipped = read(tmp_path)
    text = documents["legacy.txt"].text
    assert not skipped
    assert text == CP1252_TEXT
    assert all(char in text for char in "\u00e9\u2019\u201c\u201d")


@pytest.mark.parametrize(
    "text",
    [
        "Le caf\u00e9 \u00e9tait \u201ctr\u00e8s\u201d bon, n\u2019est-ce pas? \u00c9lodie l\u2019a dit.",
        "Ren\u00e9e\u2019s \u201cna\u00efve\u201d r\u00e9sum\u00e9 felt like d\u00e9j\u00e0 vu at the caf\u00e9.",
    ],
)
def test_western_european_accents_in_cp1252_are_not_read_as_another_code_page(text: str) -> None:
    assert decode(text.encode("cp1252")) == text


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_a_utf16_file_with_a_bom_is_decoded(tmp_path: Path, encoding: str) -> None:
    text = "na\u00efve r\u00e9sum\u00e9 \u2014 \u201cquoted\u201d " + ARTICLE
    data = text.encode(encoding)
    if encoding != "utf-16":
        data = ("\ufeff" + text).encode(encoding)
    write(tmp_path / "wide.txt", data)
    documents, skipped = read(tmp_path)
    assert not skipped and documents["wide.txt"].text == text


def test_utf8_with_a_bom_loses_the_bom() -> None:
    assert decode("\ufeffhello caf\u00e9".encode()) == "hello caf\u00e9"


def test_mojibake_is_repaired() -> None:
    assert decode("don\u00e2\u20ac\u2122t".encode()) == "don\u2019t"
    assert decode("The caf\u00c3\u00a9 didn\u00e2\u20ac\u2122t open.".encode()) == "The caf\u00e9 didn\u2019t open."


# Text as a page may hold it: letters of several scripts, punctuation, symbols, spaces.
_PAGE_TEXT = st.text(st.characters(categories=("L", "N", "P", "S", "Zs")), min_size=1, max_size=60)


@given(_PAGE_TEXT)
def test_text_encoded_once_and_read_as_windows_1252_is_given_back_when_repaired(text: str) -> None:
    try:
        mangled = text.encode("utf-8").decode("cp1252")
    except UnicodeDecodeError:  # bytes windows-1252 leaves undefined: no such page
        return
    import ftfy

    repaired = repair(mangled)
    # Mojibake is looked for where it shows in practice (Latin letters and punctuation, not every script):
    # what is repaired is repaired whole, unless the text itself reads as mojibake ("Æ¤" for "Ƥ"), which ftfy
    # would undo once more.
    if repaired != mangled and ftfy.fix_encoding(text) == text:
        assert repaired == text


def test_mojibake_among_clean_accented_text_is_left_to_ftfy() -> None:
    mixed = "Caf\u00e9 owners said the \u00c2\u00a38m plan didn\u00e2\u20ac\u2122t help."
    assert repair(mixed) == "Caf\u00e9 owners said the \u00a38m plan didn\u2019t help."


def test_a_file_with_mojibake_is_read_repaired(tmp_path: Path) -> None:
    write(tmp_path / "mangled.txt", "We don\u00e2\u20ac\u2122t know. " + ARTICLE)
    documents, _ = read(tmp_path)
    assert documents["mangled.txt"].text.startswith("We don\u2019t know.")


def test_decode_refuses_binary_data() -> None:
    with pytest.raises(ValueError, match="binary"):
        decode(b"GIF89a\x00\x00\x01\x00")


def test_a_file_name_that_is_not_utf8_does_not_break_the_scan(tmp_path: Path) -> None:
    # Latin-1 bytes in a name (old archives, Samba shares): the path is readable, the name is not UTF-8.
    (tmp_path / "first.txt").write_text(ARTICLE)
    with open(os.fsencode(tmp_path) + b"/caf\xe9.txt", "w") as handle:
        handle.write(ARTICLE)
    result = dedup.scan(tmp_path, workers=1)
    ids = [d.id for d in result.documents]
    assert len(ids) == 2 and not result.skipped and "first.txt" in ids
    assert all(i.encode("utf-8") for i in ids)  # an id must survive being written out
    json.dumps(result.to_dict(), ensure_ascii=False).encode("utf-8")


# --- size -------------------------------------------------------------------------------------------------


def test_a_50_megabyte_file_is_read_and_scanned(tmp_path: Path) -> None:
    paragraph = (
        "harbor workers said the bridge would open next spring after the council approved the plan "
        "and the engineers finished their survey of the old piers along the river\n"
    )
    repeats = 50 * 1024 * 1024 // len(paragraph) + 1
    big = write(tmp_path / "book.txt", paragraph * repeats)
    assert big.stat().st_size >= 50 * 1024 * 1024
    result = dedup.scan(big, workers=1)
    assert not result.skipped
    assert len(result.documents) == 1 and result.documents[0].id.endswith("book.txt")
    assert result.documents[0].words == len(paragraph.split()) * repeats


# --- accounting -------------------------------------------------------------------------------------------


def mixed_folder(root: Path) -> dict[str, int]:
    """Good and bad inputs side by side; returns how many entries (documents or skipped rows) each should give."""
    write(root / "good.txt", ARTICLE)
    write(root / "notes.md", OTHER)
    write(root / "page.html", page())
    write(root / "legacy.htm", page().replace("bridge", "caf\u00e9 bridge").encode("cp1252"))
    write(root / "packed.txt.gz", gzip.compress(OTHER.encode()))
    write(root / "one.json", json.dumps({"text": ARTICLE}))
    write(root / "feed.jsonl", jsonl({"id": "f1", "text": "ok"}) + "{bad\n" + jsonl({"id": "f3"}, {"text": "ok"}))
    write(root / "feed2.jsonl.gz", gzip.compress(jsonl({"url": "https://example.org/x", "text": "ok"}).encode()))
    write(root / "deep" / "er" / "nested.txt", ARTICLE)
    write(root / "blob.txt", b"\x00\xff" * 40)
    write(root / "empty.txt", b"")
    write(root / "blank.txt", b" \n \n")
    write(root / "image.jpg", b"\xff\xd8\xff\xe0")
    write(root / "broken.jsonl.gz", b"\x1f\x8bnot really")
    write(root / ".hidden.md", ARTICLE)
    write(root / "huge.txt", "x " * 300_000)
    os.mkfifo(root / "pipe.txt")
    (root / "dangling.md").symlink_to(root / "nowhere.md")
    (root / "deep" / "loop").symlink_to("..", target_is_directory=True)
    entries = {name: 1 for name in ("good.txt", "notes.md", "page.html", "legacy.htm", "packed.txt.gz", "one.json")}
    entries |= {"feed.jsonl": 4, "feed2.jsonl.gz": 1, "deep/er/nested.txt": 1, "deep/loop": 1}
    entries |= {n: 1 for n in ("blob.txt", "empty.txt", "blank.txt", "image.jpg", "broken.jsonl.gz", ".hidden.md")}
    entries |= {"huge.txt": 1, "pipe.txt": 1, "dangling.md": 1}
    return entries


def file_of(path: str) -> str:
    """`feed.jsonl:3` -> `feed.jsonl`: the file a document source or a skipped row comes from."""
    return path.rsplit(":", 1)[0] if path.rsplit(":", 1)[-1].isdigit() else path


def test_nothing_is_silently_dropped_every_file_is_a_document_or_a_skipped_row(tmp_path: Path) -> None:
    entries = mixed_folder(tmp_path)
    corpus = Corpus([tmp_path], max_bytes=500_000)
    documents = list(corpus)
    seen = Counter(file_of(d.source) for d in documents) + Counter(file_of(s.path) for s in corpus.skipped)
    assert seen == Counter(entries)
    assert {d.id for d in documents} >= {"good.txt", "page.html", "one.json:1", "f1", "feed.jsonl:4"}
    # Each JSONL line shows up once, as a document or as a skipped row.
    lines = sorted([d.source for d in documents] + [s.path for s in corpus.skipped])
    assert [p for p in lines if p.startswith("feed.jsonl:")] == [f"feed.jsonl:{n}" for n in range(1, 5)]


def test_nothing_is_silently_dropped_by_dedup_scan_either(tmp_path: Path) -> None:
    entries = mixed_folder(tmp_path)
    result = dedup.scan(tmp_path, max_bytes=500_000)
    ids = [d.id for d in result.documents]
    skipped = [s.path for s in result.skipped]
    assert len(ids) + len(skipped) == sum(entries.values())
    assert len(set(ids)) == len(ids) and len(set(skipped)) == len(skipped)
    assert result.summary.documents == len(ids) == 10
    assert result.summary.skipped == len(skipped) == 12
    assert {"blob.txt", "empty.txt", "image.jpg", ".hidden.md", "huge.txt", "pipe.txt", "deep/loop"} <= set(skipped)


def test_scanning_a_missing_path_raises_input_error() -> None:
    with pytest.raises(dedup.InputError, match="no such file or folder: /no/such/path"):
        dedup.scan("/no/such/path")


def test_a_missing_path_among_good_ones_still_raises_input_error(tmp_path: Path) -> None:
    write(tmp_path / "good.txt", ARTICLE)
    with pytest.raises(dedup.InputError, match=r"missing\.txt"):
        dedup.scan([tmp_path / "good.txt", tmp_path / "missing.txt"])


# --- one input to score, and pages with their documents ----------------------------------------------------


def test_read_source_gives_a_text_file_as_one_document_without_a_page(tmp_path: Path) -> None:
    path = write(tmp_path / "story.txt", ARTICLE)
    [(doc, html)] = read_source(str(path))
    assert (doc.id, doc.text, html) == (str(path), ARTICLE, None)


def test_read_source_gives_an_html_file_with_its_page(tmp_path: Path) -> None:
    path = write(tmp_path / "story.html", page())
    [(doc, html)] = read_source(str(path))
    assert html == page() and doc.text == extract_html(page())[0]


def test_read_source_gives_every_record_of_a_jsonl_file(tmp_path: Path) -> None:
    path = write(tmp_path / "feed.jsonl", jsonl({"id": "a", "text": ARTICLE}, {"id": "b", "text": OTHER}))
    assert [(doc.id, html) for doc, html in read_source(str(path))] == [("a", None), ("b", None)]


def test_read_source_reads_standard_input_as_a_page_when_it_looks_like_one() -> None:
    [(doc, html)] = read_source("-", stdin=io.BytesIO(page().encode("utf-8")))
    assert (doc.id, doc.text, html) == ("-", extract_html(page())[0], page())
    [(doc, html)] = read_source("-", stdin=io.BytesIO(ARTICLE.encode("utf-8")))
    assert (doc.id, doc.text, html) == ("-", ARTICLE, None)


@pytest.mark.parametrize(
    ("content", "max_bytes", "message"),
    [
        (b"  \n", 100, "standard input is empty"),
        (b"x" * 101, 100, "larger than 100 bytes"),
        (b"\x00\x01", 100, "binary"),
    ],
)
def test_read_source_refuses_standard_input_it_cannot_score(content: bytes, max_bytes: int, message: str) -> None:
    with pytest.raises(dedup.InputError, match=message):
        read_source("-", max_bytes, stdin=io.BytesIO(content))


def test_read_source_refuses_what_gives_no_document(tmp_path: Path) -> None:
    write(tmp_path / "empty.txt", "")
    for source, message in [
        (tmp_path / "missing.txt", "no such file"),
        (tmp_path, "is a folder"),
        (tmp_path / "empty.txt", "cannot score .*: empty file"),
    ]:
        with pytest.raises(dedup.InputError, match=message):
            read_source(str(source))


def test_read_pages_gives_each_document_with_its_html_page_or_none(tmp_path: Path) -> None:
    write(tmp_path / "a.html", page())
    write(tmp_path / "b.txt", OTHER)
    corpus = Corpus([tmp_path])
    read = [(doc.id, html) for doc, html in corpus.read_pages(corpus.jobs())]
    assert read == [("a.html", page()), ("b.txt", None)]
    assert [doc.id for doc in Corpus([tmp_path])] == ["a.html", "b.txt"]
