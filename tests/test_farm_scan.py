"""Scoring inside `dedup scan`: every document gets a farm score, the same as `dedup.score` gives it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import dedup
from dedup import Document
from dedup.farm import corpus_contexts, fingerprints
from dedup.farm.scan import FarmFeatures, corpus_scores, farm_features
from dedup.farm.text import parse

ROOT = Path(__file__).resolve().parent.parent
FARM = ROOT / "fixtures" / "farm"


@pytest.fixture(scope="module")
def farm_scan() -> dedup.ScanResult:
    return dedup.scan([ROOT / "fixtures" / "news", FARM])


def test_every_scanned_document_gets_a_score_a_verdict_and_its_top_reasons(farm_scan: dedup.ScanResult) -> None:
    by_id = {d.id: d for d in farm_scan.documents}
    assert all(d.farm_score is not None and 0.0 <= d.farm_score <= 1.0 for d in farm_scan.documents)
    assert by_id["templated-farm.txt"].flagged and by_id["farm-page.html"].flagged
    assert not by_id["wire-story.txt"].flagged and not by_id["wire-story-with-chrome.txt"].flagged
    codes = [code for code, _, _ in by_id["templated-farm.txt"].reasons]
    assert len(codes) == 3 and "farm_chrome" in codes
    assert "farm" in farm_scan.summary.seconds


def test_scan_scores_agree_with_dedup_score_given_the_same_context() -> None:
    texts = [(FARM / name).read_text(encoding="utf-8") for name in ("templated-farm.txt", "wire-story.txt")]
    texts.append(texts[0].replace("Port Veyra", "Calder Sound"))
    documents = [Document(str(i), t) for i, t in enumerate(texts)]
    clusters = [("rewrite", 0, 2), None, ("rewrite", 0, 2)]
    in_scan = corpus_scores(FarmFeatures.concat([farm_features(documents[:2]), farm_features(documents[2:])]), clusters)
    contexts = corpus_contexts([fingerprints(parse(t)) for t in texts], clusters)
    for text, context, scanned in zip(texts, contexts, in_scan, strict=True):
        alone = dedup.score(text, context=context)
        assert scanned.score == pytest.approx(alone.score)
        assert scanned.flagged == alone.flagged
        assert [code for code, _, _ in scanned.reasons] == [r.code for r in alone.top(3)]


def test_no_score_leaves_the_farm_fields_empty() -> None:
    result = dedup.scan(ROOT / "fixtures" / "news", score=False)
    assert all(d.farm_score is None and d.flagged is None and d.reasons == () for d in result.documents)
    assert result.to_dict()["documents"][0]["farm_score"] is None
    assert "farm" not in result.summary.seconds


def test_farm_features_cross_process_boundaries_whole() -> None:
    import pickle

    texts = [(FARM / name).read_text(encoding="utf-8") for name in ("templated-farm.txt", "wire-story.txt")]
    features = farm_features([Document(str(i), t) for i, t in enumerate([*texts, ""])])
    back = pickle.loads(pickle.dumps(features))
    assert np.array_equal(back.values, features.values, equal_nan=True)
    for mine, theirs in zip(features.prints, back.prints, strict=True):
        assert np.array_equal(mine.line_keys, theirs.line_keys)
        assert np.array_equal(mine.sentence_spans, theirs.sentence_spans)


def test_a_scan_of_nothing_scores_nothing() -> None:
    assert corpus_scores(FarmFeatures.concat([]), []) == []


def test_a_template_line_is_the_same_line_whatever_its_case_punctuation_numbers_and_dates() -> None:
    pages = [
        "Harbour Works Begin\n\nPublished 19 March 2024 by staff writers\n\nThe harbour works began on the quay.",
        "Council Votes Again\n\npublished 2 May 2025, by Staff Writers!\n\nThe council voted on the budget again.",
    ]
    first, second = (fingerprints(parse(page)) for page in pages)
    assert first.line_keys[0] == second.line_keys[0]  # the byline, dated differently
    assert first.line_keys[1] != second.line_keys[1]  # the stories themselves
    start, end = first.line_spans[0].tolist()
    assert pages[0][start:end] == "Published 19 March 2024 by staff writers"


def test_corpus_signals_for_a_whole_scan_are_each_documents_own() -> None:
    from dedup.farm.corpus import CORPUS, corpus_measures, count_keys

    footer = "\n\nLatest stories\n\nThe comments posted here are not from our staff."
    texts = [(FARM / name).read_text(encoding="utf-8") for name in ("templated-farm.txt", "wire-story.txt")]
    texts += [texts[0].replace("Port Veyra", "Calder Sound"), texts[1] + footer, texts[0] + footer, ""]
    articles = [parse(t) for t in texts]
    prints = [fingerprints(a) for a in articles]
    clusters = [("rewrite", 0, 2), None, ("rewrite", 0, 2), ("duplicate", 1, 2), ("duplicate", 1, 2), None]
    counts = count_keys(prints, clusters)
    line_chars = np.array([a.line_chars for a in articles])
    sentences = np.array([a.layout.sentences.shape[0] for a in articles])
    values, found = corpus_measures(prints, clusters, counts, line_chars, sentences, min_documents=2)
    contexts = corpus_contexts(prints, clusters, min_documents=2)
    for d, context in enumerate(contexts):
        for j, signal in enumerate(CORPUS.values()):
            m = signal(context, int(line_chars[d]), int(sentences[d]))
            assert (values[d, j], found[d, j]) == (pytest.approx(m.value), m.count)
    assert found[:, 0].sum() > 0  # the shared footer lines are template lines
