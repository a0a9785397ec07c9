"""Publication dates as inputs state them: one instant, whatever the notation; no date where there is none."""

from __future__ import annotations

import datetime as dt

import pytest

from dedup.text.dates import parse_date

MIDNIGHT = 1709510400.0  # 2024-03-04T00:00:00Z


@pytest.mark.parametrize(
    "value",
    [
        "2024-03-04",
        "2024-03-04T00:00:00Z",
        "2024-03-04T01:00:00+01:00",
        "2024-03-04 00:00:00",
        "Mon, 04 Mar 2024 00:00:00 GMT",
        "1709510400",
        1709510400,
        1709510400000,
        dt.date(2024, 3, 4),
        dt.datetime(2024, 3, 4),
    ],
)
def test_every_notation_of_one_instant_gives_the_same_seconds(value: object) -> None:
    assert parse_date(value) == MIDNIGHT


@pytest.mark.parametrize(
    "value", ["", "soon", "2024", "x" * 100, True, None, float("nan"), 1e30, 10**400, ["2024-03-04"]]
)
def test_what_is_not_a_date_gives_none(value: object) -> None:
    assert parse_date(value) is None
