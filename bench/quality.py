"""Quality of both relations on real data: precision, recall and F1 against human labels.

Reads ../shared/data (beside the checkout) and skips cleanly when it is absent. Every dataset is scanned with
`dedup.scan` at default settings, exactly as a user would, and scored on its labelled pairs:

- Clough & Stevenson (2011): answers vs their source. `cut` and `light` must be `duplicate`; `heavy` at least
  a `rewrite` (either relation counts); `non` must be nothing.
- llmfake (Chen & Shu 2024): human articles with their LLM paraphrases and rewrites. A pair of documents that
  share a `pair_id` is a true rewrite; any other reported pair is a false positive.
- Planted copies of real BBC articles (Greene & Cunningham 2006): edited, wrapped in another site's chrome,
  reordered, and 40% / 20% / 10% excerpts, the copies a syndication network makes; all must be `duplicate`. And
  5% excerpts (at least 25 words), where a copy's cosine with its source falls to the duplicate floor: a
  measured limit, not a target. The same corpus is scanned a second time without the passage path
  (`passage_window=0`), so the table shows what the Jaccard bands alone find.
- The same BBC articles as pages of four sites (templates written here, about 75 words): an article's two
  copies in two sites' templates must be `duplicate`; pages of different articles must not pair for sharing a
  template.
- The same BBC articles as HTML pages of four layouts written here (semantic HTML5; div soup with a "Read more"
  box and comments; an old table layout; an aggregator's first 60%), read from files: the copies must be
  `duplicate` with the main-text extraction in the loop.
- MSRP (Dolan & Brockett 2005): sentence pairs, as a sanity check only: sentences are shorter than a shingle
  window is meant for.
- The five content-farm seeds: rewrites of one story that must never be called duplicates.
- The rewrite line: how many BBC follow-ups (different articles about one event) and how many llmfake rewrites
  `--rewrite-cosine` 0.45, 0.50 and 0.55 let through.
- Candidate rules for confirming a rewrite by sentence alignment (`dedup.engine.align`): a cosine floor and a
  coverage (and order) threshold, measured on llmfake, BBC follow-ups, Clough & Stevenson, MSRP and the seeds.

Writes bench/results/quality.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
import json
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import dedup
from dedup import Document, ScanResult
from dedup.engine.align import Alignment, align_pairs

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
SEEDS = ROOT.parent / "shared" / "seeds"
RESULTS = ROOT / "bench" / "results" / "quality.md"


def read_jsonl(path: Path) -> list[dict[str, object]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def relations(result: ScanResult) -> dict[frozenset[str], str]:
    return {frozenset((p.a, p.b)): p.relation for p in result.pairs}


def row(name: str, tp: int, fp: int, fn: int, note: str = "") -> str:
    p, r, f = prf(tp, fp, fn)
    return f"| {name} | {tp} | {fp} | {fn} | {p:.3f} | {r:.3f} | {f:.3f} | {note} |"


def clough_stevenson() -> list[str]:
    docs = read_jsonl(DATA / "neardup" / "clough_stevenson_docs.jsonl")
    pairs = read_jsonl(DATA / "neardup" / "clough_stevenson_pairs.jsonl")
    result = dedup.scan([Document(str(d["id"]), str(d["text"])) for d in docs])
    found = relations(result)
    task = {str(d["id"]): str(d["task"]) for d in docs}
    by_category: dict[str, Counter[str]] = {}
    dup = {"tp": 0, "fp": 0, "fn": 0}
    rel = {"tp": 0, "fp": 0, "fn": 0}
    for pair in pairs:
        category = str(pair["category"])
        got = found.get(frozenset((str(pair["a"]), str(pair["b"]))), "none")
        by_category.setdefault(category, Counter())[got] += 1
        want_dup = category in ("cut", "light")
        want_rel = category != "non"
        dup["tp"] += want_dup and got == "duplicate"
        dup["fp"] += (not want_dup) and got == "duplicate"
        dup["fn"] += want_dup and got != "duplicate"
        rel["tp"] += want_rel and got != "none"
        rel["fp"] += (not want_rel) and got != "none"
        rel["fn"] += want_rel and got == "none"
    # Pairs across different tasks answer different questions: any reported one is a false positive.
    cross = sum(1 for p in result.pairs if task[p.a] != task[p.b])
    lines = [
        "### Clough & Stevenson (answer vs source, 95 labelled pairs)",
        "",
        "| relation | TP | FP | FN | precision | recall | F1 | note |",
        "|---|---|---|---|---|---|---|---|",
        row("duplicate (cut, light)", dup["tp"], dup["fp"], dup["fn"], "heavy/non called duplicate count as FP"),
        row(
            "related (cut, light, heavy)",
            rel["tp"],
            rel["fp"] + cross,
            rel["fn"],
            f"{cross} cross-task pairs counted as FP",
        ),
        "",
        "| category | pairs | duplicate | rewrite | none |",
        "|---|---|---|---|---|",
    ]
    for category in ("cut", "light", "heavy", "non"):
        c = by_category.get(category, Counter())
        lines.append(f"| {category} | {sum(c.values())} | {c['duplicate']} | {c['rewrite']} | {c['none']} |")
    return lines


_LLM_METHODS = ("paraphrase_generation", "rewrite_generation")


def _llmfake_corpus(
    min_words: int,
) -> tuple[list[Document], dict[str, object], dict[str, dict[str, object]], list[dict[str, object]]]:
    """llmfake's human articles and their LLM paraphrases and rewrites, both sides at least `min_words` long:
    the documents, each document's story, the human article of each story, and the machine rows."""
    rows = read_jsonl(DATA / "farm" / "llmfake.jsonl")
    humans = {str(r["pair_id"]): r for r in rows if r["label"] == "human" and r.get("pair_id")}
    machines = [
        r for r in rows if r["label"] == "machine" and r.get("method") in _LLM_METHODS and r.get("pair_id") in humans
    ]

    def long_enough(r: dict[str, object]) -> bool:
        return len(str(r["text"]).split()) >= min_words

    machines = [m for m in machines if long_enough(m) and long_enough(humans[str(m["pair_id"])])]
    used = {m["pair_id"] for m in machines}
    docs = [Document(str(h["id"]), str(h["text"])) for pid, h in humans.items() if pid in used or min_words == 0]
    docs += [Document(str(m["id"]), str(m["text"])) for m in machines]
    story = {str(h["id"]): h["pair_id"] for h in humans.values()} | {str(m["id"]): m["pair_id"] for m in machines}
    return docs, story, humans, machines


def llmfake(min_words: int) -> list[str]:
    wanted = _LLM_METHODS
    docs, story, humans, machines = _llmfake_corpus(min_words)
    started = time.perf_counter()
    result = dedup.scan(docs)
    seconds = time.perf_counter() - started
    found = relations(result)
    lines = []
    for method in wanted:
        labelled = [(str(humans[str(m["pair_id"])]["id"]), str(m["id"])) for m in machines if m["method"] == method]
        as_rewrite = sum(found.get(frozenset(p)) == "rewrite" for p in labelled)
        as_any = sum(frozenset(p) in found for p in labelled)
        lines.append(
            f"| {method} | {len(labelled)} | {as_rewrite / len(labelled):.3f} | {as_any / len(labelled):.3f} |"
        )
    # Precision over every reported pair: documents of one story (human + its rewrites) are all related.
    correct = sum(story[p.a] == story[p.b] for p in result.pairs)
    wrong = len(result.pairs) - correct
    across = Counter(p.relation for p in result.pairs if story[p.a] != story[p.b])
    labelled_all = {frozenset((str(humans[str(m["pair_id"])]["id"]), str(m["id"]))) for m in machines}
    tp = sum(1 for p in labelled_all if p in found)
    return [
        f"### llmfake, human article vs its LLM paraphrase/rewrite (both >= {min_words} words)",
        "",
        f"{len(docs)} documents scanned in {seconds:.1f}s; {len(result.pairs)} pairs reported, "
        f"{correct} within one story, {wrong} across stories ({across['duplicate']} duplicate, "
        f"{across['rewrite']} rewrite; across-story duplicates are mostly generator prompt echoes ('Please rewrite "
        "the passage...'), scrape errors ('Access denied') and shared site boilerplate: texts that do copy each "
        "other).",
        "",
        "| method | labelled pairs | recall as rewrite | recall as any relation |",
        "|---|---|---|---|",
        *lines,
        "",
        "| relation | TP | FP | FN | precision | recall | F1 | note |",
        "|---|---|---|---|---|---|---|---|",
        row("related (labelled pairs)", tp, wrong, len(labelled_all) - tp, "FP = reported pairs across stories"),
    ]


def plant(words: list[str], kind: str, rng: random.Random) -> str:
    """One syndication-style copy of an article given as words."""
    if kind == "edited":  # about 5% of words dropped or replaced
        return " ".join(w if rng.random() > 0.05 else rng.choice(["the", "a", "new", "said"]) for w in words)
    if kind == "wrapped":  # another site's header and footer around it
        return "\n".join(
            [
                "Home | World | Business | Sport | Sign in",
                " ".join(words),
                "Share this article. Related stories. Copyright 2026 Example Network. All rights reserved.",
            ]
        )
    if kind == "reordered":  # its sentences in another order
        sentences = " ".join(words).split(". ")
        rng.shuffle(sentences)
        return ". ".join(sentences)
    share = {"excerpt-40": 0.4, "excerpt-20": 0.2, "excerpt-10": 0.1, "excerpt-5": 0.05}[kind]
    n = max(25, int(len(words) * share))
    start = rng.randrange(0, max(1, len(words) - n))
    return " ".join(words[start : start + n])


def planted_copies() -> list[str]:
    rows = read_jsonl(DATA / "farm" / "bbc_fulltext.jsonl")
    rng = random.Random(7)
    kinds = ["edited", "wrapped", "reordered", "excerpt-40", "excerpt-20", "excerpt-10", "excerpt-5"]
    docs = [Document(str(r["id"]), str(r["text"])) for r in rows]
    planted: dict[frozenset[str], str] = {}
    for r in rng.sample(rows, 1000):
        kind = kinds[len(planted) % len(kinds)]
        copy_id = f"{r['id']}~{kind}"
        docs.append(Document(copy_id, plant(str(r["text"]).split(), kind, rng)))
        planted[frozenset((str(r["id"]), copy_id))] = kind
    result = dedup.scan(docs)
    found = relations(result)
    bands_only = relations(dedup.scan(docs, passage_window=0, score=False))
    lines = [
        f"### Planted copies of real articles (BBC, {len(rows)} articles + {len(planted)} copies)",
        "",
        "| copy kind | planted | found as duplicate | found as rewrite | as duplicate without the passage path |",
        "|---|---|---|---|---|",
    ]
    for kind in kinds:
        pairs = [p for p, k in planted.items() if k == kind]
        dup = sum(found.get(p) == "duplicate" for p in pairs)
        rew = sum(found.get(p) == "rewrite" for p in pairs)
        alone = sum(bands_only.get(p) == "duplicate" for p in pairs)
        lines.append(
            f"| {kind} | {len(pairs)} | {dup / len(pairs):.3f} | {rew / len(pairs):.3f} | {alone / len(pairs):.3f} |"
        )
    # Pairs not planted: the BBC corpus itself holds some republished and updated stories, so these are an
    # upper bound on false pairs, listed by relation.
    other = Counter(rel for p, rel in found.items() if p not in planted and not any("~" in x for x in p))
    other_alone = Counter(rel for p, rel in bands_only.items() if p not in planted and not any("~" in x for x in p))
    lines += [
        "",
        f"Pairs between original articles (not planted): {dict(other)}; without the passage path {dict(other_alone)}.",
    ]
    return lines


def added_pairs(
    found: dict[frozenset[str], str], copies: set[frozenset[str]], plain: dict[frozenset[str], str]
) -> Counter[str]:
    """Pairs, by relation, between pages (`article~variant`) of different articles: neither an article's own
    copies nor articles whose plain texts already pair."""
    return Counter(
        rel
        for pair, rel in found.items()
        if pair not in copies and frozenset(page.split("~")[0] for page in pair) not in plain
    )


# Four site templates written for this bench: what the pages of one site share when saved as plain text.
_SITE_NAMES = ("The Northern Ledger", "Valley Courier Online", "Metro Daily Wire", "Coastline Herald")


def _site(name: str) -> tuple[list[str], list[str]]:
    header = [
        name,
        "Home | News | World | Business | Sport | Culture | Opinion | Weather | Sign in | Subscribe",
        "Breaking news and analysis from our newsroom, updated every hour of the day",
    ]
    footer = [
        "Sign up for our morning newsletter and never miss a story from the newsroom.",
        "Most read: Local council budget | Transport strikes | Weekend weather outlook | Match reports",
        f"Copyright {name}. All rights reserved. About us | Contact | Advertise | Terms of use | Privacy policy",
        "We use cookies to improve your experience on our website. By continuing you agree to our use of cookies.",
    ]
    return header, footer


def site_templates() -> list[str]:
    """Different articles in one site's template must not pair; one article in two sites' templates must."""
    rows = read_jsonl(DATA / "farm" / "bbc_fulltext.jsonl")
    rng = random.Random(11)
    sites = [_site(name) for name in _SITE_NAMES]
    docs: list[Document] = []
    copies: set[frozenset[str]] = set()
    for r in rows:
        text = str(r["text"])
        first, second = rng.sample(range(len(sites)), 2)
        for tag, (header, footer) in (("a", sites[first]), ("b", sites[second])):
            docs.append(Document(f"{r['id']}~{tag}", "\n".join([*header, text, *footer])))
        copies.add(frozenset((f"{r['id']}~a", f"{r['id']}~b")))
    found = relations(dedup.scan(docs, score=False))
    kept = sum(found.get(pair) == "duplicate" for pair in copies)
    # The BBC corpus itself republishes some stories: pages of articles that pair without any template are
    # not counted against the templates.
    plain = relations(dedup.scan([Document(str(r["id"]), str(r["text"])) for r in rows], score=False))
    added = added_pairs(found, copies, plain)
    return [
        f"### Pages of one site (BBC, {len(rows)} articles, each in two of four site templates of about 75 words)",
        "",
        f"Each article's two copies found as duplicate: {kept}/{len(copies)}. Pairs the templates add between "
        f"pages of different articles: {added['duplicate']} duplicate, {added['rewrite']} rewrite.",
    ]


# Four page layouts written for this bench: how syndication partners and aggregators publish a wire story.
_LAYOUT_SITES = ("Riverside Gazette", "Daily Meridian", "The Harbour Post", "Plainsview Times")
_RELATED = (
    "Explainer: what the new rules mean for you",
    "Live: latest updates from the markets",
    "Opinion: why the numbers do not add up",
    "Watch: the week in pictures",
)


def _page(layout: int, site: str, title: str, paragraphs: list[str]) -> str:
    e = html.escape
    title = e(title)
    if layout == 0:  # semantic HTML5: article inside nav, aside and footer
        body = "".join(f"<p>{e(p)}</p>" for p in paragraphs)
        most_read = "".join(f'<li><a href="/r{i}">{e(t)}</a></li>' for i, t in enumerate(_RELATED))
        return (
            f"<!doctype html><html><head><title>{title} | {site}</title></head><body>"
            '<header><nav><a href="/">Home</a> <a href="/news">News</a> <a href="/sport">Sport</a> '
            '<a href="/login">Sign in</a></nav></header>'
            f'<main><article><h1>{title}</h1><p class="byline">By Staff Reporter, {site}</p>'
            '<figure><img src="a.jpg"><figcaption>Image copyright Getty Images</figcaption></figure>'
            f"{body}</article><aside><h2>Most read</h2><ul>{most_read}</ul></aside></main>"
            f"<footer><p>Copyright {site}. All rights reserved.</p><p>We use cookies to improve your experience. "
            "By continuing you agree to our cookie policy.</p></footer></body></html>"
        )
    if layout == 1:  # div soup, a "Read more" box inside the story, reader comments below it
        half = max(1, len(paragraphs) // 2)
        first, rest = (
            "".join(f'<div class="para">{e(p)}</div>' for p in part) for part in (paragraphs[:half], paragraphs[half:])
        )
        box = '<div class="related-inline"><strong>Read more:</strong> ' + " ".join(
            f'<a href="/x{i}">{e(t)}</a>' for i, t in enumerate(_RELATED[:2])
        )
        return (
            f'<html><head><title>{title}</title></head><body><div id="wrapper"><div class="top-bar">{site} | '
            'Subscribe | Newsletter | Log in</div><div class="menu"><ul><li>World</li><li>Politics</li>'
            f'<li>Tech</li><li>Health</li></ul></div><div class="content"><h1>{title}</h1>'
            f'<div class="story-body">{first}{box}</div>{rest}</div><div class="share">Share on Facebook Share '
            'on Twitter Email this story</div><div class="comments"><h3>Comments (3)</h3><div class="comment">'
            'Great article, thanks for sharing.</div><div class="comment">I do not agree with this at all.</div>'
            f'</div></div><div class="footer">About us | Contact | Advertise | Privacy. (c) 2026 {site}</div>'
            "</div></body></html>"
        )
    if layout == 2:  # an old table layout, paragraphs as <br><br>
        body = "<br><br>".join(e(p) for p in paragraphs)
        return (
            f'<html><head><title>{site} - {title}</title></head><body><table width="100%"><tr><td colspan="2">'
            f'<font size="5">{site}</font><br>Home - Archive - Contact</td></tr><tr><td width="20%" valign="top">'
            '<b>Sections</b><br>Local<br>Nation<br>World<br>Sports</td><td valign="top"><font size="4">'
            f"<b>{title}</b></font><br><i>Wire service</i><br><br>{body}<br><br><small>Distributed by a wire "
            'service.</small></td></tr><tr><td colspan="2"><small>All material on this site is copyright '
            f"{site}.</small></td></tr></table></body></html>"
        )
    # an aggregator: the first 60% of the paragraphs, a link to the original, a cookie banner
    kept = "".join(f"<p>{e(p)}</p>" for p in paragraphs[: max(2, len(paragraphs) * 3 // 5)])
    return (
        f'<!doctype html><html><head><title>{title}</title></head><body><div class="cookie-banner">This site '
        'uses cookies. Accept all | Manage settings</div><nav class="site-nav"><a>Latest</a> <a>Trending</a> '
        f'<a>Videos</a></nav><article class="post"><h1 class="entry-title">{title}</h1><div class="entry-meta">'
        f'Posted 3 hours ago in News</div><div class="entry-content">{kept}<p><a href="/full">Read the full story '
        'at the original publisher</a></p></div></article><section class="newsletter">Get the top stories in '
        f'your inbox. Sign up now.</section><footer class="site-footer">{site} is part of Example Media Group. '
        "Terms of service.</footer></body></html>"
    )


def syndicated_pages(articles: int = 1000) -> list[str]:
    """An article as HTML pages of two of four sites, read from files: extraction in the loop."""
    rows = random.Random(13).sample(read_jsonl(DATA / "farm" / "bbc_fulltext.jsonl"), articles)
    rng = random.Random(17)
    copies: set[frozenset[str]] = set()
    layout_of: dict[str, int] = {}
    article_words = {str(r["id"]): len(str(r["text"]).split()) for r in rows}
    with tempfile.TemporaryDirectory() as tmp:
        for r in rows:
            paragraphs = [p.strip() for p in str(r["text"]).split("\n") if p.strip()]
            names = []
            for layout in sorted(rng.sample(range(len(_LAYOUT_SITES)), 2)):
                name = f"{r['id']}~{layout}.html"
                page = _page(layout, _LAYOUT_SITES[layout], str(r.get("title") or ""), paragraphs)
                (Path(tmp) / name).write_text(page, encoding="utf-8")
                layout_of[name] = layout
                names.append(name)
            copies.add(frozenset(names))
        result = dedup.scan(tmp, score=False)
    found = relations(result)
    # The articles as plain text with their headlines (every layout shows it): pairs of related stories there
    # are not the layouts' doing.
    titled = [Document(str(r["id"]), f"{r.get('title') or ''}\n{r['text']}") for r in rows]
    plain = relations(dedup.scan(titled, score=False))
    words = {d.id: d.words for d in result.documents}
    lines = [
        f"### Syndicated pages (BBC, {articles} articles, each as HTML pages of two of four site layouts)",
        "",
        "Pages written to files and scanned as a folder, so the main text is extracted (trafilatura) as in any "
        "scan. Layouts: 0 semantic HTML5 (nav, aside, footer); 1 div soup with a 'Read more' box inside the "
        "story and reader comments; 2 an old table layout, paragraphs as `<br><br>`; 3 an aggregator's first 60% "
        "of the paragraphs with a cookie banner.",
        "",
        "| layouts | copies | found as duplicate | found as rewrite |",
        "|---|---|---|---|",
    ]
    by_layouts: dict[tuple[int, ...], list[frozenset[str]]] = {}
    for pair in copies:
        by_layouts.setdefault(tuple(sorted(layout_of[n] for n in pair)), []).append(pair)
    for key, pairs in sorted(by_layouts.items()):
        dup = sum(found.get(p) == "duplicate" for p in pairs)
        rew = sum(found.get(p) == "rewrite" for p in pairs)
        lines.append(f"| {key[0]} and {key[1]} | {len(pairs)} | {dup / len(pairs):.3f} | {rew / len(pairs):.3f} |")
    extra = added_pairs(found, copies, plain)
    ratio = {
        layout: sorted(words[n] / article_words[n.split("~")[0]] for n in layout_of if layout_of[n] == layout)
        for layout in range(len(_LAYOUT_SITES))
    }
    kept = ", ".join(f"{layout} {r[len(r) // 2]:.2f}" for layout, r in ratio.items())
    lines += [
        "",
        f"Skipped pages: {len(result.skipped)}. Words the scan kept per page over the article's own words (median "
        f"by layout; chrome left in raises it): {kept}. Pairs between pages of different articles that their "
        f"plain texts (headline and text) do not have: {extra['duplicate']} duplicate, {extra['rewrite']} rewrite.",
    ]
    return lines


def rewrite_line() -> list[str]:
    """What `--rewrite-cosine` trades: BBC follow-ups called rewrites against LLM rewrites found."""
    bbc = [Document(str(r["id"]), str(r["text"])) for r in read_jsonl(DATA / "farm" / "bbc_fulltext.jsonl")]
    docs, story, humans, machines = _llmfake_corpus(50)
    labelled = {frozenset((str(humans[str(m["pair_id"])]["id"]), str(m["id"]))) for m in machines}
    lines = [
        "### The rewrite line (`--rewrite-cosine`): BBC News 2004-05 alone, and llmfake (both sides >= 50 words)",
        "",
        "| `--rewrite-cosine` | BBC `rewrite` pairs | llmfake rewrites found | llmfake pairs across stories |",
        "|---|---|---|---|",
    ]
    for cosine in (0.45, 0.5, 0.55):
        bbc_rewrites = sum(p.relation == "rewrite" for p in dedup.scan(bbc, rewrite_cosine=cosine, score=False).pairs)
        result = dedup.scan(docs, rewrite_cosine=cosine, score=False)
        found = relations(result)
        share = sum(pair in found for pair in labelled) / len(labelled)
        across = sum(story[p.a] != story[p.b] for p in result.pairs)
        lines.append(f"| {cosine:.2f} | {bbc_rewrites} | {share:.1%} | {across} |")
    return lines


# The rules measured for confirming a rewrite: a cosine floor alone (today's rule at 0.45), or a floor and
# the share of the smaller text that the sentence alignment (`dedup.engine.align`) covers.
_RULE_COSINES = (0.3, 0.35, 0.45)
_RULE_COVERAGES = (0.0, 0.2, 0.3, 0.4, 0.5, 0.6)
# Rules on coverage and the order kept: (coverage from, order from).
_RULE_ORDERED = ((0.3, 0.5), (0.3, 0.7))


def _aligned(result: ScanResult, texts: dict[str, str]) -> dict[frozenset[str], Alignment]:
    rewrites = [(p.a, p.b) for p in result.pairs if p.relation == "rewrite"]
    return {frozenset(pair): alignment for pair, alignment in align_pairs(texts, rewrites).items()}


def _kept(
    result: ScanResult, alignments: dict[frozenset[str], Alignment], cosine: float, coverage: float, order: float
) -> dict[frozenset[str], str]:
    """The pairs a rule keeps: duplicates as they are, rewrites from `cosine` covered at least `coverage` with
    at least `order` of the order kept."""
    kept = {}
    for p in result.pairs:
        key = frozenset((p.a, p.b))
        aligned = p.relation == "rewrite" and alignments[key].coverage >= coverage and alignments[key].order >= order
        if p.relation == "duplicate" or (aligned and p.cosine >= cosine):
            kept[key] = p.relation
    return kept


def _components(pairs: Iterable[frozenset[str]]) -> list[int]:
    parent: dict[str, str] = {}

    def root(x: str) -> str:
        while parent.setdefault(x, x) != x:
            x = parent[x]
        return x

    for pair in pairs:
        x, y = sorted(pair)
        parent[root(x)] = root(y)
    return sorted(Counter(root(x) for x in parent).values(), reverse=True)


def _spins(name: str, methods: tuple[str, ...]) -> tuple[list[Document], set[frozenset[str]]]:
    """A file's human articles and their machine rewrites made by `methods`, and the (article, rewrite) pairs."""
    rows = read_jsonl(DATA / "farm" / name)
    humans = {str(r["pair_id"]): r for r in rows if r["label"] == "human" and r.get("pair_id")}
    made = [r for r in rows if r.get("method") in methods and str(r.get("pair_id")) in humans]
    used = {str(r["pair_id"]) for r in made}
    docs = [Document(str(h["id"]), str(h["text"])) for pid, h in humans.items() if pid in used]
    docs += [Document(str(r["id"]), str(r["text"])) for r in made]
    return docs, {frozenset((str(humans[str(r["pair_id"])]["id"]), str(r["id"]))) for r in made}


def alignment_rules() -> list[str]:
    """Whether the sentence alignment should decide rewrites: each rule's llmfake recall and BBC follow-ups."""
    docs, story, humans, machines = _llmfake_corpus(50)
    labelled = {frozenset((str(humans[str(m["pair_id"])]["id"]), str(m["id"]))) for m in machines}
    bbc = [Document(str(r["id"]), str(r["text"])) for r in read_jsonl(DATA / "farm" / "bbc_fulltext.jsonl")]
    cs_docs = read_jsonl(DATA / "neardup" / "clough_stevenson_docs.jsonl")
    cs = [Document(str(d["id"]), str(d["text"])) for d in cs_docs]
    cs_pairs = read_jsonl(DATA / "neardup" / "clough_stevenson_pairs.jsonl")
    msrp_rows = read_jsonl(DATA / "neardup" / "msrp_test.jsonl")
    msrp_texts = {str(r[f"id{n}"]): str(r[f"text{n}"]) for r in msrp_rows for n in (1, 2)}
    seed_docs = [Document(f.name, f.read_text(encoding="utf-8")) for f in sorted(SEEDS.glob("*.txt"))]
    iu_docs, iu_pairs = _spins("iu_news.jsonl", ("rephrase_base", "rephrase_expert"))
    restyles = tuple(f"restyle: {style}" for style in ("objective", "neutral", "emotionally_triggering", "sensational"))
    sheep_docs, sheep_pairs = _spins("sheepdog.jsonl", restyles)
    corpora = {
        "llmfake": docs,
        "iu": iu_docs,
        "sheepdog": sheep_docs,
        "bbc": bbc,
        "cs": cs,
        "msrp": [Document(i, t) for i, t in msrp_texts.items()],
        "seeds": seed_docs,
    }
    lines = [
        "### Confirming rewrites by sentence alignment: candidate rules",
        "",
        "Each corpus scanned once per cosine floor (`--rewrite-cosine`); each `rewrite` pair is then aligned "
        "(`dedup.engine.align`) and kept when its coverage of the smaller text reaches the rule's; duplicates "
        "are kept as they are. llmfake: both sides >= 50 words, recall over labelled pairs found as any relation; "
        "iu_news: ChatGPT rephrasings of a human article (`rephrase_base`, `rephrase_expert`) found as any relation; "
        "sheepdog: GPT-3.5 restyles of a PolitiFact article (objective, neutral, emotional, sensational) found as "
        "any relation; BBC: pairs of different BBC articles called `rewrite`; C&S: `heavy` answers related "
        "(of 19), `non` related (of 38); MSRP test: related pairs against the paraphrase label; seeds: the pairs "
        "kept of the 10 and the sizes of the clusters they make.",
        "",
        "Verdict: the alignment is reported as evidence (the JSON contract, `dedup explain`, the HTML report) and "
        "does not decide; the rule stays the cosine alone. No rule reaches the issue's target (80% of llmfake with "
        "at most 20 BBC pairs): llmfake recall is bounded by the candidate paths and the cosine floor before any "
        "alignment (the coverage-0.0 rows). A lower floor with coverage from 0.5 keeps about today's llmfake "
        "recall, finds more iu_news and sheepdog rewrites and removes most BBC follow-ups, but it splits the five "
        "content-farm seeds (real spins that reorder and pad their source, and cover little of each other) and "
        "relates a C&S `non` answer; every coverage that keeps the seeds one cluster (0.3 and below) removes only "
        "a part of the follow-ups. Deciding by it would fail two of the issue's must-shows, on the genre dedup "
        "exists to catch.",
        "",
        "| cosine floor | coverage from | order from | llmfake recall | llmfake pairs across stories "
        "| iu_news rephrasings | sheepdog restyles | BBC `rewrite` pairs | C&S heavy related | C&S non related "
        "| MSRP TP / FP | seed pairs kept | seed clusters |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for cosine in _RULE_COSINES:
        scanned = {}
        for name, corpus in corpora.items():
            if corpus:
                result = dedup.scan(corpus, rewrite_cosine=cosine, score=False)
                texts = {d.id: d.text for d in corpus}
                scanned[name] = (result, _aligned(result, texts))
        for coverage, order in [*((c, 0.0) for c in _RULE_COVERAGES), *_RULE_ORDERED]:
            kept = {name: _kept(result, al, cosine, coverage, order) for name, (result, al) in scanned.items()}
            llm = kept["llmfake"]
            recall = sum(p in llm for p in labelled) / len(labelled)
            across = sum(story[x] != story[y] for x, y in map(sorted, llm))
            bbc_rewrites = sum(rel == "rewrite" for rel in kept["bbc"].values())
            got = {c: Counter() for c in ("heavy", "non")}
            for pair in cs_pairs:
                if str(pair["category"]) in got:
                    got[str(pair["category"])][frozenset((str(pair["a"]), str(pair["b"]))) in kept["cs"]] += 1
            tp = sum(frozenset((str(r["id1"]), str(r["id2"]))) in kept["msrp"] and r["label"] == 1 for r in msrp_rows)
            fp = sum(frozenset((str(r["id1"]), str(r["id2"]))) in kept["msrp"] and r["label"] != 1 for r in msrp_rows)
            seed_pairs = kept.get("seeds", {})
            iu = sum(p in kept["iu"] for p in iu_pairs) / len(iu_pairs)
            sheep = sum(p in kept["sheepdog"] for p in sheep_pairs) / len(sheep_pairs)
            lines.append(
                f"| {cosine:.2f} | {coverage:.1f} | {order:.1f} | {recall:.1%} | {across} | {iu:.1%} | {sheep:.1%} "
                f"| {bbc_rewrites} "
                f"| {got['heavy'][True]} | {got['non'][True]} | {tp} / {fp} | {len(seed_pairs)} "
                f"| {_components(seed_pairs)} |"
            )
    return lines


def msrp() -> list[str]:
    rows = read_jsonl(DATA / "neardup" / "msrp_test.jsonl")
    texts: dict[str, str] = {}
    for r in rows:
        texts[str(r["id1"])] = str(r["text1"])
        texts[str(r["id2"])] = str(r["text2"])
    result = dedup.scan([Document(i, t) for i, t in texts.items()])
    found = relations(result)
    tp = fp = fn = 0
    for r in rows:
        got = frozenset((str(r["id1"]), str(r["id2"]))) in found
        tp += got and r["label"] == 1
        fp += got and r["label"] != 1
        fn += (not got) and r["label"] == 1
    return [
        "### MSRP test (sentence pairs; sanity check only)",
        "",
        "| relation | TP | FP | FN | precision | recall | F1 | note |",
        "|---|---|---|---|---|---|---|---|",
        row("related (label 1)", tp, fp, fn, f"{len(texts)} sentences scanned together"),
    ]


def seeds() -> list[str]:
    files = sorted(SEEDS.glob("*.txt"))
    result = dedup.scan(files)
    kinds = Counter(p.relation for p in result.pairs)
    return [
        "### Content-farm seeds (five spun rewrites of one story)",
        "",
        f"{len(files)} seeds: {kinds['rewrite']} rewrite pairs, {kinds['duplicate']} duplicate pairs (must be 0), "
        f"clusters: {[(c.relation, len(c.members)) for c in result.clusters]}",
    ]


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(list(argv) if argv is not None else None)
    if not DATA.is_dir():
        print(f"skipped: no real data at {DATA}")
        return 0
    started = time.perf_counter()
    sections = [
        clough_stevenson(),
        planted_copies(),
        site_templates(),
        syndicated_pages(),
        llmfake(50),
        llmfake(0),
        rewrite_line(),
        alignment_rules(),
        msrp(),
    ]
    if SEEDS.is_dir():
        sections.append(seeds())
    header = [
        "# Quality on real data",
        "",
        f"`python bench/quality.py`, {dt.date.today().isoformat()}, dedup {dedup.__version__}, default settings, "
        f"{time.perf_counter() - started:.0f}s.",
        "",
    ]
    text = "\n".join(header + [line for section in sections for line in [*section, ""]])
    print(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
