"""Text (and optionally its HTML page and corpus context) -> a `FarmScore` with every signal as a reason."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping

from dedup.errors import InputError
from dedup.farm.combine import LEARNED, Params, contribution, load_params, sigmoid
from dedup.farm.corpus import CORPUS, CorpusContext
from dedup.farm.lexicon import FUNCTION_WORD, lexicon
from dedup.farm.prose import explain, prose_logit
from dedup.farm.result import Evidence, FarmScore, Reason
from dedup.farm.signals import CODES, ENGLISH, MAX_SPANS, Measure, measured
from dedup.farm.text import MAX_FARM_CHROME_WORDS, Article, parse, scored_part

__all__ = [
    "MESSAGES",
    "SIGNALS",
    "combine",
    "english_share",
    "measure",
    "page_chrome",
    "score",
    "score_article",
    "suffix",
]

# Below this share of common English function words a text is not English (English prose: 0.35 to 0.5).
MIN_ENGLISH_SHARE = 0.15

# A signal's sentence for people, from its value (None: not measured) and its count.
_Message = Callable[[float | None, int], str]


def _n(value: float | None) -> float:
    return value or 0.0


MESSAGES: dict[str, _Message] = {
    "stock_phrases": lambda v, k: f"{k} stock phrases ({_n(v):.1f} per 1,000 words)",
    "buzzwords": lambda v, k: f"{k} buzzwords ({_n(v):.1f} per 1,000 words)",
    "transitions": lambda v, k: f"{_n(v):.0%} of sentences open with a connective such as 'Furthermore' ({k})",
    "lexical_diversity": lambda v, k: f"moving-average type-token ratio {_n(v):.3f} over 50-word windows",
    "burstiness": lambda v, k: f"sentence lengths vary by {_n(v):.2f} of their mean over {k} sentences",
    "numbers": lambda v, k: f"{_n(v):.2f} numbers or dates per sentence ({k})",
    "attribution": lambda v, k: f"{_n(v):.2f} quotations or attributions per sentence ({k})",
    "names": lambda v, k: f"{_n(v):.2f} capitalised names per sentence ({k})",
    "word_length": lambda v, k: f"words average {_n(v):.2f} characters",
    "punctuation": lambda v, k: f"{_n(v):.2f} colons, semicolons, brackets or dashes per sentence",
    "first_person": lambda v, k: f"{k} first-person words ({_n(v):.1f} per 1,000 words)",
    "machine_prose": lambda v, k: f"its words and word pairs give {_n(v):+.2f} log-odds of machine prose",
    "repeated_ngrams": lambda v, k: f"{_n(v):.0%} of the words sit in 5-word phrases used more than once",
    "top_ngram": lambda v, k: f"the most frequent 3-word phrase takes {_n(v):.1%} of the words ({k} times)",
    "generic_headings": lambda v, k: f"{_n(v):.0f} of {k} headings are stock section names",
    "title_repetition": lambda v, k: f"the title comes back {_n(v):.0f} time(s)",
    "duplicate_lines": lambda v, k: f"{_n(v):.0%} of the text repeats earlier lines ({k})",
    "boilerplate": lambda v, k: f"{k} lines of page furniture ({_n(v):.0%} of the text)",
    "farm_chrome": lambda v, k: f"{k} syndication or auto-publishing footer line(s)",
    "page_chrome": lambda v, k: f"{_n(v):.0%} of the page's visible text is outside the article",
    "template_lines": lambda v, k: f"{k} lines shared with other documents ({_n(v):.0%} of the text)",
    "shared_phrasing": lambda v, k: f"{k} sentences also found in documents about other stories",
    "rewrite_cluster": lambda v, k: f"one of {k + 1} rewrites of the same story",
    "duplicate_cluster": lambda v, k: f"one of {k + 1} copies of the same text",
}
SIGNALS: tuple[str, ...] = tuple(MESSAGES)
_UNMEASURED = {
    "page_chrome": "not measured: no HTML page given",
    **{code: "not measured: needs a corpus (dedup scan)" for code in CORPUS},
}


def english_share(a: Article) -> float:
    """Share of the prose words that are common English function words ("the", "of", "and").

    >>> english_share(parse("The end of the road and the start of it."))  # 7 of 10
    0.7
    """
    return float(measured(a).values[ENGLISH])


def page_chrome(text: str, chrome: str) -> Measure:
    """Share of a page's visible text outside its main content (`chrome` as `dedup.text.html.extract_html` gives it)."""
    visible = len(text) + len(chrome)
    return Measure(len(chrome) / visible if visible else None, count=chrome.count("\n") + 1 if chrome else 0)


def _farm_footers(chrome: str) -> list[str]:
    farm = lexicon().farm_chrome
    return [line for line in chrome.split("\n") if len(line.split()) <= MAX_FARM_CHROME_WORDS and farm.search(line)]


def machine_prose(a: Article) -> Measure | None:
    """The `machine_prose` signal: the prose model's log-odds, its evidence the content-bearing terms that
    push it most toward machine prose (`dedup.farm.prose.explain`), its count the terms leaning machine."""
    if not a.word_count:
        return None
    value = prose_logit(a)
    if value <= load_params().signals["machine_prose"].center:
        # In the human range the terms pushing toward machine prose did not make the signal count: quote none.
        return Measure(value)
    content = (lexicon().flags[a.layout.w_lex[a.layout.prose]] & FUNCTION_WORD) == 0
    found = explain(a, content)
    return Measure(value, words=tuple((i, i + k) for i, k, _ in found), count=len(found))


def measure(
    a: Article, *, chrome: str | None = None, context: CorpusContext | None = None, params: Params | None = None
) -> dict[str, Measure | None]:
    """Every signal's measure, in `SIGNALS` order; None for those the inputs cannot give."""
    found = measured(a, (params or load_params()).vocabulary)
    out: dict[str, Measure | None] = dict(zip(CODES, found.measures(a), strict=True))
    out["machine_prose"] = machine_prose(a)
    out["page_chrome"] = page_chrome(a.text, chrome) if chrome is not None else None
    if chrome:
        # A page's footer sits outside its main text: count the syndication footers found there too.
        extra = len(_farm_footers(chrome))
        m = out["farm_chrome"]
        if extra and m is not None:
            out["farm_chrome"] = Measure((m.value or 0.0) + extra, m.spans, m.words, m.count + extra)
    if context is not None:
        for code, corpus_fn in CORPUS.items():
            out[code] = corpus_fn(context, a.line_chars, int(a.layout.sentences.shape[0]))
    return {code: out.get(code) for code in SIGNALS}


def suffix(weight: float, threshold: float, learned: bool) -> str:
    """What a reason's message adds after the measurement: where human news lies, or where a count starts."""
    if learned:
        return f" (95% of human text: {'<' if weight >= 0 else '>'} {threshold:.3g})"
    return f" (counts from {threshold:.3g})"


def _locate(html: str, chrome: str) -> list[tuple[int, int]]:
    # Where each chrome segment sits in the page: its words in order, any markup or spacing between them.
    spans: list[tuple[int, int]] = []
    at = 0
    for segment in chrome.split("\n")[:MAX_SPANS]:
        words = segment.split()
        if not words:
            continue
        found = re.compile(r"(?:\s|<[^>]*>)+".join(map(re.escape, words))).search(html, at)
        if found is not None:
            spans.append(found.span())
            at = found.end()
    return spans


EvidenceFn = Callable[[str, Measure], tuple[Evidence, ...]]


def combine(
    measures: Mapping[str, Measure | None],
    *,
    words: int,
    english: bool,
    params: Params | None = None,
    threshold: float | None = None,
    doc_id: str = "",
    evidence: EvidenceFn | None = None,
) -> FarmScore:
    """Measures -> a `FarmScore`: every signal's contribution, message and (when `evidence` quotes them)
    evidence. `words` and `english` say how far the style signals can be trusted."""
    p = params or load_params()
    cut = p.threshold if threshold is None else threshold
    if not 0.0 <= cut <= 1.0:
        raise InputError(f"threshold={cut!r} must be between 0 and 1.")
    # Style statistics of a short text are noise: below min_words they count in proportion to its length.
    reliability = min(1.0, words / p.min_words) if english else 0.0
    reasons = []
    logit = p.intercept
    for code in SIGNALS:
        m = measures.get(code)
        sp = p.signals[code]
        learned = sp.kind == LEARNED
        value = None if m is None else m.value
        c = contribution(sp, value) * (reliability if learned else 1.0)
        logit += c
        if m is None or value is None:
            message = _UNMEASURED.get(code, "not measured: no prose sentences")
        else:
            message = MESSAGES[code](value, m.count) + suffix(sp.weight, sp.threshold, learned)
        found = evidence(code, m) if evidence is not None and m is not None else ()
        reasons.append(Reason(code, value, sp.threshold, sp.weight, c, message, found))
    reasons.sort(key=lambda r: (-r.contribution, r.code))
    probability = sigmoid(logit)
    prose = sum(r.contribution for r in reasons if p.signals[r.code].kind == LEARNED)
    prose_probability = sigmoid(p.intercept + prose)
    basis = _basis(probability >= cut, prose_probability >= cut, sigmoid(logit - prose) >= cut)
    note = ""
    if not english:
        note = "the text does not read as English: the style signals were not applied"
    elif words < p.min_words:
        note = (
            f"only {words} words of prose: style signals count for {reliability:.0%} (full weight from {p.min_words})"
        )
    return FarmScore(
        doc_id, probability, probability >= cut, cut, tuple(reasons), words, note, prose_probability, basis
    )


def _basis(flagged: bool, prose: bool, farm: bool) -> str:
    # What a verdict rests on: the prose alone, the page and corpus evidence alone, either, or only both together.
    if not flagged:
        return ""
    if prose and farm:
        return "both"
    return "machine_prose" if prose else "farm_evidence" if farm else "together"


def score_article(
    a: Article,
    measures: Mapping[str, Measure | None],
    *,
    params: Params | None = None,
    threshold: float | None = None,
    doc_id: str = "",
    html: str | None = None,
    chrome: str = "",
    evidence: bool = True,
) -> FarmScore:
    """Combine an article's measures into a `FarmScore`, its evidence quoted from `a.text` (and `html`);
    `evidence=False` leaves the quotes out."""

    def quote(code: str, m: Measure) -> tuple[Evidence, ...]:
        if code == "page_chrome" and html is not None:
            return tuple(Evidence(s, e, html[s:e], "html") for s, e in _locate(html, chrome))
        found = tuple(Evidence(s, e, a.text[s:e]) for s, e in m.evidence(a))
        if code == "farm_chrome" and html is not None and chrome:
            footers = "\n".join(_farm_footers(chrome))
            found += tuple(Evidence(s, e, html[s:e], "html") for s, e in _locate(html, footers))
        return found

    return combine(
        measures,
        words=a.word_count,
        english=english_share(a) >= MIN_ENGLISH_SHARE,
        params=params,
        threshold=threshold,
        doc_id=doc_id,
        evidence=quote if evidence else None,
    )


def score(
    text: str,
    *,
    html: str | None = None,
    context: CorpusContext | None = None,
    threshold: float | None = None,
    doc_id: str = "",
) -> FarmScore:
    """Score `text` (an article) as content-farm output: a calibrated probability, a verdict and every
    signal as a reason whose evidence offsets point into `text`.

    `html`: the page the text came from; its visible text outside the main content is the `page_chrome`
    signal (evidence offsets into `html`). `context`: what a corpus knows about the document. `threshold`:
    the score from which `flagged` is true (default: the shipped model's). Raises `InputError` for a text
    that is not a string or has no words.

    >>> result = score("In conclusion, it remains to be seen. " * 30)
    >>> result.flagged, "stock_phrases" in [r.code for r in result.top(3)]
    (True, True)
    """
    if not isinstance(text, str):
        raise InputError(f"cannot score a {type(text).__name__}: pass the article's text as a str")
    if html is not None and not isinstance(html, str):
        raise InputError(f"html must be a str, not {type(html).__name__}")
    a = parse(scored_part(text))
    if a.empty:
        raise InputError("nothing to score: the text has no words")
    chrome = None
    if html is not None:
        from dedup.text.html import extract_html

        chrome = extract_html(html)[1]
    measures = measure(a, chrome=chrome, context=context)
    result = score_article(a, measures, threshold=threshold, doc_id=doc_id, html=html, chrome=chrome or "")
    if len(a.text) < len(text):
        read = f"scored the first {len(a.text):,} of {len(text):,} characters"
        result = dataclasses.replace(result, note=f"{read}; {result.note}" if result.note else read)
    return result
