"""The shipped machine-prose model: its explanation is exact, its scan and single-text paths agree, and on real
data (../shared/data, skipped where absent) it keeps floors that a broken intercept or zeroed weights fail."""

from __future__ import annotations

import hashlib
import json
import math
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

import dedup
from dedup import Document
from dedup.farm.combine import load_params
from dedup.farm.corpus import CORPUS
from dedup.farm.lexicon import FUNCTION_WORD, lexicon
from dedup.farm.prose import explain, load_prose, prose_batch, prose_keys, prose_logit, terms
from dedup.farm.scan import farm_features
from dedup.farm.score import SIGNALS
from dedup.farm.text import encode_batch, layout_encoded, parse

MACHINE_LIKE = (
    "In today's rapidly evolving landscape, organizations must navigate a complex array of challenges. "
    "Furthermore, it is essential to foster collaboration and leverage innovative solutions. Additionally, "
    "stakeholders play a pivotal role in shaping a comprehensive strategy that ensures sustainable growth. "
) * 4
HUMAN_LIKE = (
    "We got to the ferry late, so Dad parked on the ramp and swore at the gulls. Mum had the sandwiches; "
    "they were squashed. I remember the rain more than the island, to be honest, and the dog being sick "
    "twice before Tobermory. Nobody took a photo. "
) * 4


def logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def test_the_prose_log_odds_is_its_intercept_plus_one_part_per_term() -> None:
    model = load_prose()
    a = parse(MACHINE_LIKE)
    t = terms(prose_keys(a), model.bits)
    parts = model.weights[t.buckets].astype(np.float64) * t.values
    assert prose_logit(a) == pytest.approx(model.intercept + float(parts.sum()), abs=1e-9)
    assert float(t.values @ t.values) == pytest.approx(1.0)


def test_the_compiled_batch_gives_the_same_log_odds_as_one_text_at_a_time() -> None:
    texts = [MACHINE_LIKE, HUMAN_LIKE, "One two.", "Words repeated repeated repeated here, and here."]
    data, offsets = encode_batch(texts)
    lay, (w_ptr, _, p_ptr, _) = layout_encoded(data, offsets)
    model = load_prose()
    out = np.empty(len(texts))
    prose_batch(lay.w_key, lay.prose, w_ptr, p_ptr, model.weights, model.bits, model.intercept, out)
    assert out.tolist() == pytest.approx([prose_logit(parse(t)) for t in texts], abs=1e-9)


def test_a_score_is_exactly_its_intercept_plus_its_contributions() -> None:
    for text in (MACHINE_LIKE, HUMAN_LIKE):
        result = dedup.score(text)
        total = load_params().intercept + sum(r.contribution for r in result.reasons)
        assert logit(result.score) == pytest.approx(total, abs=1e-9)
        assert 0.0 <= result.score <= 1.0
        assert dedup.score(text) == result


def test_machine_prose_contributes_from_the_typical_human_value() -> None:
    sp = load_params().signals["machine_prose"]
    human = next(r for r in dedup.score(HUMAN_LIKE).reasons if r.code == "machine_prose")
    machine = next(r for r in dedup.score(MACHINE_LIKE).reasons if r.code == "machine_prose")
    assert machine.contribution > 1.0 > human.contribution
    assert machine.contribution == pytest.approx(sp.weight * min(max((machine.value - sp.center) / sp.scale, -4), 4))


def test_machine_prose_evidence_quotes_content_terms_not_function_words() -> None:
    result = dedup.score(MACHINE_LIKE)
    prose = next(r for r in result.reasons if r.code == "machine_prose")
    assert prose.evidence
    function = {"the", "a", "and", "of", "to", "it", "is", "in", "that", "your"}
    for e in prose.evidence:
        assert MACHINE_LIKE[e.start : e.end] == e.quote
        assert not set(e.quote.lower().split()) <= function, e.quote


def test_explain_lists_distinct_terms_strongest_first() -> None:
    a = parse(MACHINE_LIKE)
    content = (lexicon().flags[a.layout.w_lex[a.layout.prose]] & FUNCTION_WORD) == 0
    found = explain(a, content)
    parts = [p for _, _, p in found]
    assert parts == sorted(parts, reverse=True) and all(p > 0 for p in parts)
    assert len({(a.words[i], k) for i, k, _ in found}) == len(found)


def test_the_json_says_what_the_verdict_rests_on() -> None:
    flagged = dedup.score(MACHINE_LIKE).to_dict()
    assert 0.0 <= flagged["machine_prose"] <= 1.0
    assert flagged["basis"] in ("machine_prose", "farm_evidence", "both", "together", "")
    plain = dedup.score(HUMAN_LIKE)
    assert not plain.flagged and plain.basis == ""


def test_the_scan_path_measures_machine_prose_as_score_does() -> None:
    features = farm_features([Document("a", MACHINE_LIKE), Document("b", HUMAN_LIKE)])
    column = [code for code in SIGNALS if code not in CORPUS].index("machine_prose")
    values = [
        next(r.value for r in dedup.score(t).reasons if r.code == "machine_prose") for t in (MACHINE_LIKE, HUMAN_LIKE)
    ]
    assert features.values[:, column].tolist() == pytest.approx(values, abs=1e-9)


# Real data: a deterministic sample of every file, both labels. It mixes stories the model was trained on
# with held-out ones (bench/farm_quality.py reports the held-out figures); the floors are set far below
# those figures, so they fail only for a broken model: a moved intercept, zeroed weights, a changed hash.
SAMPLE_PER_FILE = 40
MIN_AUC = 0.85
MAX_REGISTER_FPR = 0.10
MIN_TPR = 0.30
# Calibration under even odds: typical human text scores low, typical machine text high.
MAX_HUMAN_MEDIAN = 0.15
MIN_MACHINE_MEDIAN = 0.7


def _sample(shared: Path) -> list[tuple[str, str, bool]]:
    """(register, text, machine) of up to SAMPLE_PER_FILE rows a label a file, chosen by a hash of the id."""
    out = []
    for path in sorted([*shared.glob("farm/*.jsonl"), *shared.glob("registers/*.jsonl")]):
        chosen: dict[bool, list[tuple[str, str, str, bool]]] = defaultdict(list)
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                row = json.loads(line)
                if row.get("flags") or row.get("n_words", 0) < 80:
                    continue
                key = hashlib.blake2b(str(row["id"]).encode(), digest_size=8).hexdigest()
                machine = row["label"] == "machine"
                chosen[machine].append((key, str(row.get("register") or "news"), row["text"], machine))
        for rows in chosen.values():
            out += [(r, t, m) for _, r, t, m in sorted(rows)[:SAMPLE_PER_FILE]]
    return out


def test_the_shipped_model_keeps_its_floors_on_real_data(shared_data: Path) -> None:
    from sklearn.metrics import roc_auc_score

    sample = _sample(shared_data)
    results = [dedup.score(t) for _, t, _ in sample]
    machine = np.array([m for _, _, m in sample])
    scores = np.array([r.score for r in results])
    flagged = np.array([r.flagged for r in results])
    assert roc_auc_score(machine, scores) >= MIN_AUC
    assert flagged[machine].mean() >= MIN_TPR
    assert np.median(scores[~machine]) <= MAX_HUMAN_MEDIAN
    assert np.median(scores[machine]) >= MIN_MACHINE_MEDIAN
    registers = np.array([r for r, _, _ in sample])
    for register in sorted(set(registers[~machine].tolist())):
        human = (registers == register) & ~machine
        if human.sum() >= 20:
            assert flagged[human].mean() <= MAX_REGISTER_FPR, register
