"""`dedup.score`: a calibrated score with every signal as a reason whose evidence points at the text."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dedup
import dedup.text.html
from dedup import CorpusContext, FarmScore, InputError
from dedup.farm import SIGNALS, corpus_contexts, fingerprints
from dedup.farm.combine import load_params
from dedup.farm.text import parse

ROOT = Path(__file__).resolve().parent.parent
FARM = ROOT / "fixtures" / "farm"


def fixture(name: str) -> str:
    return (FARM / name).read_text(encoding="utf-8")


def reason(result: FarmScore, code: str) -> dedup.Reason:
    return next(r for r in result.reasons if r.code == code)


def assert_evidence_points_at_the_text(result: FarmScore, text: str, html: str | None = None) -> None:
    for r in result.reasons:
        for e in r.evidence:
            source = html if e.within == "html" else text
            assert source is not None, r.code
            assert source[e.start : e.end] == e.quote, (r.code, e)


def test_a_templated_farm_article_is_flagged_with_its_phrases_headings_and_footer_as_evidence() -> None:
    text = fixture("templated-farm.txt")
    result = dedup.score(text)
    assert result.flagged and result.score > 0.95
    cited = {r.code: [e.quote for e in r.evidence] for r in result.reasons}
    assert "In conclusion" in cited["stock_phrases"]
    assert cited["generic_headings"] == [
        "The Background",
        "The Timing",
        "Regional Dynamics",
        "Looking Ahead: Prospects for Cooperation",
    ]
    assert any(q.startswith("The comments posted here are not from") for q in cited["farm_chrome"])
    assert "Latest stories" in cited["boilerplate"]
    assert reason(result, "title_repetition").value == 1.0
    assert_evidence_points_at_the_text(result, text)


def test_a_plain_wire_story_is_not_flagged() -> None:
    result = dedup.score(fixture("wire-story.txt"))
    assert not result.flagged and result.score < 0.2


def test_ordinary_site_chrome_alone_does_not_flag_a_wire_story() -> None:
    plain = dedup.score(fixture("wire-story.txt"))
    wrapped = dedup.score(fixture("wire-story-with-chrome.txt"))
    assert not wrapped.flagged
    chrome = reason(wrapped, "boilerplate")
    assert chrome.value is not None and chrome.value > 0.1  # the chrome is seen ...
    assert {"Sign up to our newsletter", "Read more: How the Esk floods changed the lower town"} <= {
        e.quote for e in chrome.evidence
    }
    assert wrapped.score - plain.score < 0.1  # ... and weighs little
    assert reason(wrapped, "farm_chrome").value == 0.0


def test_an_html_farm_page_is_flagged_and_its_footer_is_found_in_the_page() -> None:
    html = fixture("farm-page.html")
    main, _ = dedup.text.html.extract_html(html)
    result = dedup.score(main, html=html)
    assert result.flagged
    footer = reason(result, "farm_chrome")
    assert footer.value == 2.0
    assert {e.within for e in footer.evidence} == {"html"}
    assert reason(result, "page_chrome").value is not None
    assert_evidence_points_at_the_text(result, main, html)


def test_every_signal_is_listed_even_those_that_did_not_fire() -> None:
    result = dedup.score(fixture("wire-story.txt"))
    assert sorted(r.code for r in result.reasons) == sorted(SIGNALS)
    unmeasured = {r.code: r.message for r in result.reasons if r.value is None}
    assert set(unmeasured) == {
        "page_chrome",
        "template_lines",
        "shared_phrasing",
        "rewrite_cluster",
        "duplicate_cluster",
    }
    assert all(m.startswith("not measured") for m in unmeasured.values())


def test_the_log_odds_of_the_score_is_the_intercept_plus_the_contributions() -> None:
    import math

    result = dedup.score(fixture("templated-farm.txt"))
    logit = load_params().intercept + sum(r.contribution for r in result.reasons)
    assert result.score == pytest.approx(1 / (1 + math.exp(-logit)))
    assert [r.contribution for r in result.reasons] == sorted((r.contribution for r in result.reasons), reverse=True)


def test_the_threshold_decides_the_verdict() -> None:
    text = fixture("wire-story.txt")
    result = dedup.score(text)
    assert result.threshold == load_params().threshold
    assert dedup.score(text, threshold=0.0).flagged
    assert not dedup.score(fixture("templated-farm.txt"), threshold=1.0).flagged or result.score == 1.0
    with pytest.raises(InputError, match="threshold"):
        dedup.score(text, threshold=1.5)


def test_json_contract_has_id_score_flagged_threshold_and_reasons() -> None:
    data = dedup.score(fixture("templated-farm.txt"), doc_id="farm").to_dict()
    assert {"id", "score", "flagged", "threshold", "reasons"} <= set(data)
    assert data["id"] == "farm"
    assert set(data["reasons"][0]) == {
        "code",
        "value",
        "threshold",
        "weight",
        "contribution",
        "fired",
        "message",
        "evidence",
    }
    assert set(data["reasons"][0]["evidence"][0]) == {"start", "end", "text", "within"}


def test_corpus_context_adds_template_lines_and_cluster_membership() -> None:
    pages = [fixture("templated-farm.txt").replace("Port Veyra", name) for name in ("Ost", "Brill", "Calder")]
    articles = [parse(p) for p in pages]
    contexts = corpus_contexts([fingerprints(a) for a in articles], [("rewrite", 0, 3)] * 3)
    context = contexts[0]
    assert {pages[0][s.start : s.end] for s in context.template_lines} >= {"Latest stories", "The Background"}
    alone = dedup.score(pages[0])
    together = dedup.score(pages[0], context=context)
    assert reason(together, "rewrite_cluster").value == 2.0
    assert reason(together, "template_lines").value is not None
    assert together.score >= alone.score
    assert_evidence_points_at_the_text(together, pages[0])


def test_shared_sentences_count_only_across_clusters() -> None:
    stock = "The meeting holds significant implications for the future of the whole region today."
    docs = [parse(f"Story number {i} about item {i}. {stock}") for i in range(4)]
    prints = [fingerprints(d) for d in docs]
    across = corpus_contexts(prints, [None] * 4)
    assert [len(c.shared_sentences) for c in across] == [1, 1, 1, 1]
    within = corpus_contexts(prints, [("rewrite", 0, 4)] * 4)  # one story's rewrites share sentences by nature
    assert [len(c.shared_sentences) for c in within] == [0, 0, 0, 0]
    assert CorpusContext(documents=1).cluster_relation is None


@pytest.mark.parametrize(
    ("text", "note"),
    [
        ("Five words and no more.", "only 5 words"),
        ("Der Rat hat am Dienstag beschlossen, die Brücke über den Fluss neu zu bauen. " * 5, "not read as English"),
    ],
)
def test_short_and_foreign_texts_get_a_clear_result_and_a_note(text: str, note: str) -> None:
    result = dedup.score(text)
    assert note in result.note
    assert not result.flagged


@pytest.mark.parametrize("text", ["", "   \n\t ", "...!!!", "\u2014\u2014\u2014"])
def test_a_text_without_words_is_an_input_error(text: str) -> None:
    with pytest.raises(InputError, match="nothing to score"):
        dedup.score(text)


def test_non_strings_are_an_input_error() -> None:
    with pytest.raises(InputError, match="cannot score a bytes"):
        dedup.score(b"some bytes")  # type: ignore[arg-type]


def test_a_five_megabyte_text_is_scored_and_its_evidence_capped() -> None:
    text = fixture("templated-farm.txt") * (5_000_000 // len(fixture("templated-farm.txt")))
    result = dedup.score(text)
    assert 0.0 <= result.score <= 1.0
    assert max(len(r.evidence) for r in result.reasons) <= 25


def test_the_seeds_are_all_flagged_with_their_stock_phrases_cited(shared_seeds: list[Path]) -> None:
    for path in shared_seeds:
        text = path.read_text(encoding="utf-8")
        result = dedup.score(text)
        assert result.flagged, path.name
        assert reason(result, "stock_phrases").evidence, path.name
        assert_evidence_points_at_the_text(result, text)


_words = st.sampled_from(
    [
        *[
            "the",
            "council",
            "said",
            "in",
            "conclusion",
            "42",
            "Mr.",
            "Hale",
            "of",
            "Wrenfield",
            "furthermore",
            "pivotal",
            "landscape",
            ",",
            ".",
            "!",
        ],
        *("\n", "\n\n", "", "Read more", "Latest stories", "The Background", "2024", "\u201cquoted\u201d"),
    ]
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_words, min_size=1, max_size=120).map(" ".join))
def test_any_text_scores_in_zero_one_deterministically_with_evidence_at_its_quotes(text: str) -> None:
    try:
        first = dedup.score(text)
    except InputError:
        assert not any(c.isalnum() for c in text)
        return
    assert 0.0 <= first.score <= 1.0
    assert first == dedup.score(text)
    assert_evidence_points_at_the_text(first, text)


@settings(max_examples=40, deadline=None)
@given(st.text(min_size=1, max_size=400))
def test_arbitrary_unicode_never_crashes_the_scorer(text: str) -> None:
    try:
        result = dedup.score(text)
    except InputError:
        return
    assert 0.0 <= result.score <= 1.0
    assert_evidence_points_at_the_text(result, text)
