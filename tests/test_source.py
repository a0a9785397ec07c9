"""A cluster's source: the member the others were made from, told from what each member keeps of the others."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st

import dedup
from dedup import Document
from dedup.engine.source import DATE_MARGIN, cluster_sources, coverage, named_sources, undominated

# An invented story, and two spins that each retell part of it in other words, dropping what the other keeps.
SOURCE = (
    "Harbor officials in Delmont said on Thursday that the Quarry Street ferry terminal will close for eleven "
    "weeks from March 4 while engineers replace the pilings under its northern berth. Marta Okonkwo, the port's "
    "operations director, said the 1962 timbers had rotted faster than a 2019 survey predicted, and that the "
    "repair will cost 3.2 million dollars drawn from the harbor reserve. Commuters on the Linden Island route "
    "will be carried by two chartered buses that leave the Cannery Road depot every twenty minutes. The "
    "Delmont Ferry Riders Association welcomed the repair but asked for a later last bus on weeknights, "
    "saying nurses finishing late shifts at St Brigid's hospital would otherwise be stranded. The council "
    "will vote on the charter contract, worth 410,000 dollars, at its meeting on February 20."
)
SPIN_ONE = (
    "The Quarry Street ferry terminal in Delmont will close for eleven weeks from March 4, harbor officials "
    "said Thursday, while engineers replace the pilings under its northern berth. Marta Okonkwo, the port's "
    "operations director, said the 1962 timbers rotted faster than a 2019 survey predicted; the repair will "
    "cost 3.2 million dollars from the harbor reserve. Commuters on the Linden Island route will ride two "
    "chartered buses from the Cannery Road depot. This holds significant implications for the community."
)
SPIN_TWO = (
    "Engineers will replace the pilings under the northern berth of Delmont's Quarry Street ferry terminal, "
    "which closes for eleven weeks from March 4. Commuters on the Linden Island route will be carried by two "
    "chartered buses leaving the Cannery Road depot every twenty minutes. The Delmont Ferry Riders Association "
    "welcomed the repair but asked for a later last bus on weeknights for nurses finishing late shifts at St "
    "Brigid's hospital. The council will vote on the 410,000 dollar charter contract on February 20."
)


def test_the_member_that_holds_what_every_spin_kept_covers_the_cluster_best() -> None:
    matrix = sp.csr_matrix(np.array([[1, 1, 1, 1], [1, 1, 0, 0], [0, 0, 1, 1]], dtype=np.float32))
    claims = coverage(matrix, np.ones(4), [[0, 1, 2]])
    assert claims[0] == 1.0
    assert claims[1] < claims[0] and claims[2] < claims[0]


def test_copies_of_one_text_have_no_lead_and_a_document_outside_clusters_no_claim() -> None:
    matrix = sp.csr_matrix(np.array([[1, 1, 0], [1, 1, 0], [0, 0, 1]], dtype=np.float32))
    _, lead, claim = cluster_sources(matrix, np.ones(3), [[0, 1]])
    assert lead.tolist() == [0.0]
    assert np.isnan(claim[2])


def test_a_prior_against_machine_prose_decides_between_equal_claims() -> None:
    matrix = sp.csr_matrix(np.array([[1, 1], [1, 1]], dtype=np.float32))
    best, lead, _ = cluster_sources(matrix, np.ones(2), [[0, 1]], spun=np.array([0.9, 0.1]))
    assert best.tolist() == [1] and lead[0] > 0.0


def test_a_member_no_other_beats_on_both_coverage_and_prior_may_be_the_source() -> None:
    # Member 1 expands member 0 (keeps all of it, adds more) and leads on the claim; member 0 reads as more
    # human, so it may still be the source; member 2 is beaten by member 1 on both counts.
    matrix = sp.csr_matrix(np.array([[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1], [1, 1, 0, 0, 1, 1]], dtype=np.float32))
    spun = np.array([0.2, 0.3, 0.9])
    sources, unspun = named_sources(matrix, np.ones(6), [[0, 1, 2]], margin=0.05, spun=spun)
    assert sources == [1]
    assert unspun.tolist() == [True, True, False]


@given(
    st.lists(st.tuples(st.integers(0, 100), st.integers(0, 100)), min_size=1, max_size=12),
    st.floats(0, 20),
)
def test_the_likeliest_source_under_any_prior_weight_is_undominated(
    members: list[tuple[int, int]], weight: float
) -> None:
    cover, spun = (np.array(x, dtype=np.float64) / 100 for x in zip(*members, strict=True))
    best = int(np.argmax(cover - weight * spun))
    assert undominated(cover, spun, [range(len(members))])[best]


def test_a_date_before_every_other_members_names_the_source_and_only_it_may_be() -> None:
    matrix = sp.csr_matrix(np.array([[1, 1, 1, 1], [1, 1, 0, 0], [0, 0, 1, 1]], dtype=np.float32))
    published = np.array([3.0, 1.0, 2.0]) * DATE_MARGIN
    sources, unspun = named_sources(matrix, np.ones(4), [[0, 1, 2]], margin=0.05, published=published)
    assert sources == [1]
    assert unspun.tolist() == [False, True, False]


@pytest.mark.parametrize("published", [[np.nan, 1.0, 2.0], [1.0, 1.0, 2.0], [3.0, 1.5, 1.0]])
def test_without_a_date_for_every_member_or_a_day_ahead_the_text_decides(published: list[float]) -> None:
    # A date alone stands for any time of its day, and a time without a zone may be hours off: dates less than
    # a day apart do not order their pages.
    matrix = sp.csr_matrix(np.array([[1, 1, 1, 1], [1, 1, 0, 0], [0, 0, 1, 1]], dtype=np.float32))
    dates = np.array(published) * DATE_MARGIN
    sources, _ = named_sources(matrix, np.ones(4), [[0, 1, 2]], margin=0.05, published=dates)
    assert sources == [0]


def test_a_scan_takes_the_earliest_published_member_as_the_source_over_the_text() -> None:
    docs = [
        Document("source", SOURCE, published=1_709_600_000.0),
        Document("spin-1", SPIN_ONE, published=1_709_510_400.0),
        Document("spin-2", SPIN_TWO, published=1_709_700_000.0),
    ]
    result = dedup.scan(docs)
    assert [c.source for c in result.clusters] == ["spin-1"]
    reasons = {d.id: {code for code, _, _ in d.reasons} for d in result.documents}
    assert "rewrite_cluster" not in reasons["spin-1"] and "duplicate_cluster" not in reasons["spin-1"]


@pytest.mark.parametrize("workers", [1, 2])
def test_a_scan_of_a_feed_takes_the_dates_of_its_records(tmp_path: Path, workers: int) -> None:
    records = [
        {"id": "source", "text": SOURCE, "date": "2024-03-05T09:00:00Z"},
        {"id": "spin-1", "text": SPIN_ONE, "published": "2024-03-04"},
        {"id": "spin-2", "text": SPIN_TWO, "timestamp": 1_709_700_000},
    ]
    feed = tmp_path / "feed.jsonl"
    feed.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    result = dedup.scan(feed, workers=workers)
    assert [c.source for c in result.clusters] == ["spin-1"]


def test_a_scan_names_the_source_of_its_spins_whatever_the_input_order() -> None:
    docs = [Document("source", SOURCE), Document("spin-1", SPIN_ONE), Document("spin-2", SPIN_TWO)]
    for order in (docs, docs[::-1], [docs[1], docs[0], docs[2]]):
        result = dedup.scan(order)
        assert [(c.members, c.source) for c in result.clusters] == [(("source", "spin-1", "spin-2"), "source")]


def test_being_spun_never_counts_against_the_source() -> None:
    result = dedup.scan([Document("source", SOURCE), Document("spin-1", SPIN_ONE), Document("spin-2", SPIN_TWO)])
    scores = {d.id: d for d in result.documents}
    cluster_codes = {"rewrite_cluster", "duplicate_cluster"}
    assert not cluster_codes & {code for code, _, _ in scores["source"].reasons}
    alone = dedup.score(SOURCE).score
    assert scores["source"].farm_score is not None and scores["source"].farm_score <= alone + 1e-9


def test_without_scores_the_source_is_told_from_the_text_alone() -> None:
    docs = [Document("source", SOURCE), Document("spin-1", SPIN_ONE), Document("spin-2", SPIN_TWO)]
    result = dedup.scan(docs, score=False)
    assert [c.source for c in result.clusters] in (["source"], [None])
