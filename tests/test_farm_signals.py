"""Each content-farm signal on a small text whose value is worked out by hand, and the layout they rest on."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dedup.farm.signals import INTRINSIC, Measure, mattr
from dedup.farm.text import parse

FARM = Path(__file__).resolve().parent.parent / "fixtures" / "farm"


def measured(code: str, text: str) -> Measure:
    return INTRINSIC[code](parse(text))


def quotes(code: str, text: str) -> list[str]:
    a = parse(text)
    return [a.text[s:e] for s, e in INTRINSIC[code](a).evidence(a)]


def test_layout_finds_the_title_headings_chrome_and_prose_sentences() -> None:
    text = (
        "Tuesday, May 7, 2024\n\nA Bridge for Wrenfield\n\nThe council voted on Monday. Mr. Hale said yes.\n\n"
        "The Background\n\nWork starts in June.\n\nRead more\n\nOriginal Story at - 2024-05-07"
    )
    a = parse(text)
    assert [(text[line.start : line.end], line.kind) for line in a.lines] == [
        ("Tuesday, May 7, 2024", "date"),
        ("A Bridge for Wrenfield", "title"),
        ("The council voted on Monday. Mr. Hale said yes.", "prose"),
        ("The Background", "heading"),
        ("Work starts in June.", "prose"),
        ("Read more", "chrome"),
        ("Original Story at - 2024-05-07", "farm_chrome"),
    ]
    # "Mr." does not end a sentence; the heading and chrome lines are not prose.
    assert [" ".join(a.words[lo:hi]) for lo, hi in a.sentences] == [
        "the council voted on monday",
        "mr hale said yes",
        "work starts in june",
    ]


def test_word_offsets_point_at_the_words_as_written() -> None:
    a = parse("Title Line Here\n\nKorea\u2019s envoy met them. Then left.")
    starts, ends = a.offsets
    assert [a.text[s:e] for s, e in zip(starts, ends, strict=True)] == a.cased
    assert a.words[0] == "korea's"  # lower-cased, curly apostrophe made straight


def test_words_keep_inner_apostrophes_and_split_at_hyphens_underscores_and_stray_marks() -> None:
    # "Korea\u2019s" (a curly apostrophe) is one word; "long-term", "1,200" and "@Carole_King" two each; the
    # variation selector after an emoji arrow (a mark) starts no word.
    a = parse("Title Here Now\n\nKorea\u2019s long-term plan costs 1,200 says @Carole_King \u2b07\ufe0f today.")
    assert a.cased == ["Korea\u2019s", "long", "term", "plan", "costs", "1", "200", "says", "Carole", "King", "today"]


def test_each_text_of_a_batch_has_the_layout_it_has_alone() -> None:
    from dedup.farm.text import layout, layout_batch

    texts = ["A Bridge for Wrenfield\n\nThe council voted. Mr. Hale said yes.\n\nRead more", "", "Caf\u00e9 \u2014 a."]
    _, _, lay, rows = layout_batch(texts)
    for d, text in enumerate(texts):
        alone = layout(text.encode("utf-8"))
        one = lay.text(rows, d)
        for name in alone._fields:
            assert np.array_equal(getattr(one, name), getattr(alone, name)), (d, name)


def test_the_scan_computes_every_signal_exactly_as_dedup_score_does() -> None:
    from dedup import Document
    from dedup.farm.scan import _INTRINSIC, farm_features
    from dedup.farm.score import measure

    texts = [
        (FARM / name).read_text(encoding="utf-8")
        for name in ("templated-farm.txt", "wire-story.txt", "wire-story-with-chrome.txt")
    ]
    texts += ["Caf\u00e9 \u201cquoted words here, twelve+\u201d \u2014 on Monday 5.6% rose. " * 9, "", "Short."]
    features = farm_features([Document(str(i), t) for i, t in enumerate(texts)])
    for d, text in enumerate(texts):
        one = measure(parse(text))
        for j, code in enumerate(_INTRINSIC):
            m = one[code]
            expected = np.nan if m is None or m.value is None else m.value
            assert features.values[d, j] == pytest.approx(expected, nan_ok=True), (d, code)


def test_stock_phrases_are_counted_per_thousand_words() -> None:
    # 2 phrases ("in conclusion", "paved the way") in 10 words: 200 per 1,000.
    text = "In conclusion, the vote paved the way for a bridge."
    assert measured("stock_phrases", text).value == pytest.approx(200.0)
    assert quotes("stock_phrases", text) == ["In conclusion", "paved the way"]


def test_buzzwords_are_counted_per_thousand_words() -> None:
    # "pivotal" and "landscape" in 8 words: 250 per 1,000.
    assert measured("buzzwords", "A pivotal change in the landscape of farming.").value == pytest.approx(250.0)


def test_transitions_are_the_share_of_sentences_opening_with_a_connective() -> None:
    text = "The mill closed. Furthermore, the bakery shut. In contrast, rents rose. Prices fell."
    # 2 of 4 sentences open with a connective; "In contrast" is matched whole.
    assert measured("transitions", text).value == pytest.approx(0.5)
    assert quotes("transitions", text) == ["Furthermore", "In contrast"]


def test_mattr_averages_the_type_token_ratio_over_every_window() -> None:
    # Windows of 3 over a b a c c: [a b a]=2, [b a c]=3, [a c c]=2 types -> 7 / 9; the first lowest is window 0.
    assert mattr(np.array([0, 1, 0, 2, 2]), window=3) == (pytest.approx(7 / 9), 0)
    # Shorter than a window: the plain type-token ratio, 4 types in 5 words.
    assert measured("lexical_diversity", "the cat saw the dog").value == pytest.approx(0.8)


def test_mattr_matches_a_direct_count_on_a_long_text() -> None:
    rng = np.random.default_rng(7)
    ids = rng.integers(0, 40, size=300)
    direct = np.mean([len(set(ids[i : i + 50].tolist())) / 50 for i in range(300 - 50 + 1)])
    assert mattr(ids, window=50)[0] == pytest.approx(direct)


def test_burstiness_is_the_coefficient_of_variation_of_sentence_lengths() -> None:
    # Sentences of 2 and 6 words: mean 4, standard deviation 2 -> 0.5.
    m = measured("burstiness", "One two. One two three four five six.")
    assert m.value == pytest.approx(0.5)
    assert measured("burstiness", "Just one sentence here.").value is None


def test_numbers_count_figures_and_capitalised_dates_per_sentence() -> None:
    # "84", "1,200" and "Monday" in 2 sentences; "may" the verb is not a date.
    text = "The council may spend 84 million on Monday. It seats 1,200 people."
    assert measured("numbers", text).value == pytest.approx(1.5)
    assert quotes("numbers", text) == ["84", "Monday", "1,200"]


def test_attribution_counts_quotations_and_reporting_verbs_per_sentence() -> None:
    text = 'The mayor said the plan works. "We will build it next spring," she told reporters. It rained.'
    # "said", "told" and one quotation in 3 sentences.
    assert measured("attribution", text).value == pytest.approx(1.0)
    assert quotes("attribution", text) == ["said", '"We will build it next spring,"', "told"]


def test_names_count_capitalised_words_inside_sentences() -> None:
    # "Hale" and "Wrenfield" (not the sentence-initial "The" or "He") in 2 sentences.
    assert measured("names", "The mayor met Hale in Wrenfield. He left.").value == pytest.approx(1.0)


def test_word_length_is_the_mean_length_of_words() -> None:
    # 3+3+3+2+1+3+3 = 18 letters in 7 words.
    assert measured("word_length", "The cat sat on a big mat.").value == pytest.approx(18 / 7)


def test_punctuation_counts_colons_semicolons_brackets_and_dashes_per_sentence() -> None:
    # ":" , "(" , ")" and " - " in 2 sentences; the hyphen in "long-term" is not an aside.
    text = "The plan has one aim: speed (and cost). It is a long-term plan - for now."
    assert measured("punctuation", text).value == pytest.approx(2.0)
    # An em dash, "--" and a semicolon in one sentence; each counted once and cited as written.
    text = "It rose \u2014 again -- then fell; so it goes."
    assert measured("punctuation", text).value == pytest.approx(3.0)
    assert quotes("punctuation", text) == ["\u2014", "--", ";"]


def test_first_person_counts_i_and_we_per_thousand_words() -> None:
    # "We" and "our" in 8 words.
    assert measured("first_person", "We said the plan was our best one.").value == pytest.approx(250.0)


def test_repeated_ngrams_is_the_character_share_in_repeated_five_grams() -> None:
    # "a b c d e" occurs twice: 10 of the 11 one-letter words are inside a repeated 5-gram.
    m = measured("repeated_ngrams", "a b c d e x a b c d e")
    assert m.value == pytest.approx(10 / 11)
    assert quotes("repeated_ngrams", "a b c d e x a b c d e") == ["a b c d e"]  # the second occurrence


def test_top_ngram_is_the_character_share_of_the_commonest_three_gram() -> None:
    # "big red dog" twice: 2 x 9 of 21 letters.
    assert measured("top_ngram", "big red dog and big red dog").value == pytest.approx(18 / 21)
    assert measured("top_ngram", "every word here differs from the others").value == 0.0


def test_generic_headings_count_stock_section_names() -> None:
    text = (
        "A Title\n\nIntro text here.\n\nThe Background\n\nMore.\n\nPort Tariffs Rise\n\nEven more.\n\n"
        "Looking Ahead\n\nEnd."
    )
    m = measured("generic_headings", text)
    assert (m.value, m.count) == (2.0, 3)  # 2 of the 3 headings are stock names
    assert quotes("generic_headings", text) == ["The Background", "Looking Ahead"]


def test_a_heading_about_something_is_not_a_stock_heading_for_one_stock_word() -> None:
    text = (
        "A Title\n\nIntro text here.\n\nGlobal Affiliate Network\n\nMore.\n\n"
        "What does leadership mean to you in your current role?\n\nEven more.\n\nRegional Dynamics\n\nEnd."
    )
    m = measured("generic_headings", text)
    assert (m.value, m.count) == (1.0, 3)  # stock terms make half a heading's content words, or it is not stock
    assert quotes("generic_headings", text) == ["Regional Dynamics"]


def test_title_repetition_counts_the_title_coming_back() -> None:
    text = (
        "Storm Closes Wrenfield Port\n\nStorm Closes Wrenfield Port\n\n"
        "Storm closes Wrenfield port for a day. It reopens."
    )
    m = measured("title_repetition", text)
    assert m.value == 2.0  # the repeated line and the sentence that opens with the title's words


def test_duplicate_lines_is_the_character_share_of_repeated_lines() -> None:
    text = "Share this\n\nOne paragraph of text.\n\nShare this"
    # Lines of 10, 22 and 10 characters; the second "Share this" repeats: 10 / 42.
    assert measured("duplicate_lines", text).value == pytest.approx(10 / 42)


def test_boilerplate_is_the_character_share_of_page_furniture() -> None:
    text = "Sign up\n\nThe mill closed on Friday.\n\nRead more"
    # "Sign up" (7) and "Read more" (9) of 7 + 26 + 9 characters.
    assert measured("boilerplate", text).value == pytest.approx(16 / 42)


def test_farm_chrome_counts_syndication_footer_lines() -> None:
    text = "The mill closed.\n\nThe comments posted here are not from Us.\n\nOriginal Story at - 2024-01-02"
    assert measured("farm_chrome", text).value == 2.0
    # Ordinary chrome is not a farm footer.
    assert measured("farm_chrome", "The mill closed.\n\nRead more\n\nSign up").value == 0.0


def test_every_signal_copes_with_an_empty_layout() -> None:
    a = parse("")
    for code, signal in INTRINSIC.items():
        m = signal(a)
        assert m.value is None or m.value == 0.0, code
