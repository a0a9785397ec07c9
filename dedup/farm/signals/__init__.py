"""The intrinsic signals of the content-farm scorer, computed by one compiled kernel per family, and a `Measure`
(value and evidence) of each.

- `phrases`: stock phrases, buzzwords, first person, transitions (lexicon matching);
- `style`: lexical diversity, burstiness, figures and dates, attribution, names, word length, punctuation;
- `repetition`: repeated word 5-grams and the top 3-gram (Gopher);
- `layout`: generic headings, title repetition, duplicate lines, boilerplate and farm chrome;
- `vocabulary`: the learned word-choice signal, `style_words`;
- `measure`: all of them over a batch (`measure_batch`) or one text (`measured`).

Values are rates (per sentence, per 1,000 words, or shares of the text) so articles of any length compare;
the kernels write each signal's value (NaN when the text gives nothing to measure), a count for messages, and up to
`MAX_SPANS` evidence spans; the value always counts everything. The scan and `dedup.score` run the same
kernels, the scan without building any `Measure`.
"""

from dedup.farm.signals.base import CODES, COLUMNS, ENGLISH, MAX_SPANS
from dedup.farm.signals.measure import (
    FAMILIES,
    INTRINSIC,
    SCORE_ASIDE,
    Measure,
    Measured,
    SignalFn,
    compile_measure,
    measure_batch,
    measure_texts,
    measured,
)
from dedup.farm.signals.style import MATTR_WINDOW, mattr

__all__ = [
    "CODES",
    "COLUMNS",
    "ENGLISH",
    "FAMILIES",
    "INTRINSIC",
    "MATTR_WINDOW",
    "MAX_SPANS",
    "SCORE_ASIDE",
    "Measure",
    "Measured",
    "SignalFn",
    "compile_measure",
    "mattr",
    "measure_batch",
    "measure_texts",
    "measured",
]
