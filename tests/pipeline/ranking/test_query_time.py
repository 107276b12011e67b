"""Time expressions in a query: months (with an optional year) named, and the boost they give."""

from datetime import datetime, timezone

from pipeline.query_time import Span, spans, time_factor


def ms(*args: int) -> int:
    return int(datetime(*args, tzinfo=timezone.utc).timestamp() * 1000)


def test_capitalised_months_with_an_optional_year_are_spans_and_the_verb_may_is_not():
    assert spans("When did Melanie go camping in June?") == [Span(6)]
    assert spans("What did she show on October 13, 2023?") == [Span(10, 2023)]
    assert spans("on 13 May, 2023 and in July 2022") == [Span(5, 2023), Span(7, 2022)]
    assert spans("Would she may go in 2023?") == []


def test_a_memory_of_that_month_or_told_days_after_it_is_boosted():
    june = [Span(6)]
    assert time_factor(ms(2023, 6, 20), june, 0.5) == 1.5
    assert time_factor(ms(2021, 6, 1), june, 0.5) == 1.5  # no year named: any June
    assert time_factor(ms(2023, 7, 5), june, 0.5) == 1.5  # told a few days later
    assert time_factor(ms(2023, 7, 25), june, 0.5) == 1.0
    assert time_factor(ms(2022, 6, 20), [Span(6, 2023)], 0.5) == 1.0
    assert time_factor(ms(2023, 6, 20), [], 0.5) == 1.0 and time_factor(ms(2023, 6, 20), june, 0.0) == 1.0
