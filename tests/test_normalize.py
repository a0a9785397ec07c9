"""Normalization and tokenization: what counts as the same word."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from dedup.text.normalize import normalize_text, token_hash, token_spans, tokenize, tokenizer_input


def tokens_of(text: str) -> list[str]:
    normalized = normalize_text(text)
    data = normalized.encode("utf-8")
    return [data[s:e].decode("utf-8") for s, e in token_spans([normalized]).of(0).tolist()]


def hashes_of(text: str) -> list[int]:
    return tokenize([normalize_text(text)]).values.tolist()


def test_case_and_compatibility_forms_fold_together() -> None:
    assert hashes_of("THE Final Straße") == hashes_of("the \ufb01nal STRASSE")
    assert hashes_of("\uff34\uff48\uff45 cat") == hashes_of("The cat")


def test_punctuation_and_whitespace_only_separate_words() -> None:
    assert tokens_of("Hello,   world!\n\t(Again)") == ["hello", "world", "again"]
    assert hashes_of("don't stop") == hashes_of("don t stop")


def test_numbers_collapse_so_templates_collide() -> None:
    assert hashes_of("Revenue rose 4.5% to $12,000,000 in 2024") == hashes_of("Revenue rose 17% to $3 in 1999")
    assert hashes_of("3rd quarter") == hashes_of("23rd quarter") != hashes_of("4th quarter")


def test_dates_collapse_month_and_weekday_names() -> None:
    assert hashes_of("on Monday, March 3") == hashes_of("on Friday, December 25")
    assert hashes_of("Monday") != hashes_of("Mondays")


def test_token_offsets_point_into_the_normalized_text() -> None:
    assert tokens_of("Café au lait, s'il vous plaît") == ["café", "au", "lait", "s", "il", "vous", "plaît"]


def test_scripts_without_spaces_give_one_token_per_character() -> None:
    assert tokens_of("北京大学 and ภาษาไทย") == ["北", "京", "大", "学", "and", *"ภาษาไทย"]


def test_empty_and_symbol_only_texts_have_no_tokens() -> None:
    batch = tokenize([normalize_text(t) for t in ["", "  \n", "!!! --- ???"]])
    assert batch.sizes().tolist() == [0, 0, 0]


def test_token_hash_is_stable_across_runs_and_machines() -> None:
    # A fixed value: if it changes, signatures stored by earlier versions no longer compare.
    assert token_hash("hello") == token_hash("HELLO") == 0xE9C562C0FDB23244
    assert token_hash("hello") == hashes_of("hello")[0]


def test_batches_tokenize_each_document_independently() -> None:
    texts = ["alpha beta", "", "gamma", "delta epsilon zeta"]
    together = tokenize([normalize_text(t) for t in texts])
    for d, text in enumerate(texts):
        assert together.of(d).tolist() == hashes_of(text)


@given(st.text(max_size=300))
def test_normalize_is_idempotent(text: str) -> None:
    once = normalize_text(text)
    assert normalize_text(once) == once


@given(st.text(max_size=300))
def test_tokenizing_normalized_text_again_changes_nothing(text: str) -> None:
    normalized = normalize_text(text)
    assert hashes_of(normalized) == hashes_of(text)


def test_the_cached_character_classes_equal_a_fresh_build() -> None:
    from dedup.text.normalize import _build_class_table, class_table

    assert (class_table() == _build_class_table()).all()


@given(st.text(max_size=300))
def test_the_tokenizer_folds_ascii_case_itself_so_ascii_text_skips_normalization(text: str) -> None:
    assert tokenize([tokenizer_input(text)]).values.tolist() == hashes_of(text)
