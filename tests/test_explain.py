"""`dedup.engine.explain`: why a scan relates two documents, each measure against its threshold, the candidate
paths, and the shared passages."""

from __future__ import annotations

from pathlib import Path

from dedup.config import ScanConfig, scan_config
from dedup.engine.explain import DUPLICATE, REWRITE, UNRELATED, explain, shared_passages

NEWS = Path(__file__).resolve().parent.parent / "fixtures" / "news"


def read(name: str) -> str:
    return (NEWS / name).read_text(encoding="utf-8")


def test_a_shared_passage_is_the_longest_run_of_at_least_k_words_with_offsets_into_each_text() -> None:
    a = "Intro words here. The tram line will reach the harbour by spring. Other words."
    b = "THE TRAM LINE will reach the harbour by spring, the council said."
    (p,) = shared_passages(a, b, k=5)
    assert a[p.a_start : p.a_end] == "The tram line will reach the harbour by spring"
    assert b[p.b_start : p.b_end] == "THE TRAM LINE will reach the harbour by spring"
    assert p.words == 9


def test_runs_shorter_than_k_words_are_not_passages() -> None:
    assert shared_passages("the tram line", "the tram line", k=5) == ()
    assert shared_passages("one two three four five", "five four three two one", k=2) == ()


def test_an_excerpt_is_a_duplicate_found_by_every_path_with_its_text_as_one_passage() -> None:
    source, excerpt = read("originals/landlord-fraud-verdict.txt"), read("copies/farraday-verdict-excerpt.txt")
    e = explain("source", source, "excerpt", excerpt)
    assert e.relation == DUPLICATE
    assert "excerpt_containment" in e.why
    met = {t.setting for t in e.thresholds if t.met}
    assert {"excerpt_containment", "duplicate_cosine"} <= met
    assert {p.path for p in e.paths if p.found} == {"duplicate_path", "passage_path", "rewrite_path"}
    (passage,) = e.passages
    assert passage.words >= 200
    assert source[passage.a_start : passage.a_end] == excerpt[passage.b_start : passage.b_end]


def test_a_rewrite_is_found_by_the_rewrite_path_only_and_names_the_top_terms_both_share() -> None:
    e = explain("a", read("originals/glacier-moss-study.txt"), "b", read("rewrites/glacier-moss-study-spin1.txt"))
    assert e.relation == REWRITE
    found = {p.path: p for p in e.paths}
    assert found["rewrite_path"].found and found["rewrite_path"].bands
    assert not found["duplicate_path"].found and not found["passage_path"].found
    assert {"glacier", "moss"} <= set(found["rewrite_path"].terms)


def test_two_articles_on_one_topic_are_unrelated_with_no_shared_passage() -> None:
    e = explain("a", read("originals/glacier-moss-study.txt"), "b", read("same-topic/ice-storm-farms.txt"))
    assert e.relation == UNRELATED
    assert "too little shared text" in e.why
    assert e.passages == ()
    assert not {p.path: p for p in e.paths}["passage_path"].found


def test_the_thresholds_are_those_of_the_given_settings() -> None:
    text = read("originals/glacier-moss-study.txt")
    strict = scan_config(rewrite_cosine=0.99, duplicate_containment=0.99, excerpt_containment=0.99)
    e = explain("a", text, "b", read("rewrites/glacier-moss-study-spin1.txt"), strict)
    assert e.relation == UNRELATED
    assert {t.setting: t.threshold for t in e.thresholds}["rewrite_cosine"] == 0.99
    assert explain("a", text, "b", text, ScanConfig()).relation == DUPLICATE


def test_the_explanation_as_data_has_the_measures_paths_and_passages() -> None:
    text = read("originals/glacier-moss-study.txt")
    data = explain("a", text, "b", text).to_dict()
    assert data["relation"] == DUPLICATE and data["candidate"]
    assert data["measures"] == {"jaccard": 1.0, "containment": 1.0, "cosine": 1.0}
    assert [p["path"] for p in data["paths"]] == ["duplicate_path", "passage_path", "rewrite_path"]
    assert data["passages"][0]["a"] == data["passages"][0]["b"]


def test_a_rewrite_s_explanation_shows_which_sentences_correspond() -> None:
    a, b = read("originals/glacier-moss-study.txt"), read("rewrites/glacier-moss-study-spin1.txt")
    e = explain("source", a, "spin", b)
    assert e.relation == REWRITE and e.alignment is not None
    assert e.alignment.coverage >= 0.7 and e.alignment.spans
    first = e.to_dict()["alignment"]["spans"][0]
    assert "Ostrand" in a[slice(*first["a"])] and "Ostrand" in b[slice(*first["b"])]


def test_a_duplicate_s_explanation_has_no_alignment() -> None:
    e = explain("a", read("originals/landlord-fraud-verdict.txt"), "b", read("copies/farraday-verdict-excerpt.txt"))
    assert e.relation == DUPLICATE and e.alignment is None and e.to_dict()["alignment"] is None
