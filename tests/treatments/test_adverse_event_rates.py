"""Wilson's score interval and the chart's geometry (treatments.adverse_event_rates)."""

import pytest

from treatments.adverse_event_rates import (
    PUBLISHED,
    chart_for,
    make_rate,
    wilson_interval,
)


def percent(bounds):
    return tuple(round(100 * value, 2) for value in bounds)


@pytest.mark.parametrize(
    ("events", "sessions", "expected"),
    [
        # 2 of 100 -> 0.55% to 7.0%, the figure the issue gives; the others worked by hand
        # from Wilson's formula (Wilson EB, J Am Stat Assoc 1927;22(158):209-212), as the
        # Wilson-score calculator vassarstats.net/prop1.html describes it.
        (2, 100, (0.55, 7.0)),
        (0, 10, (0.0, 27.75)),
        (10, 10, (72.25, 100.0)),
        (1, 4, (4.56, 69.94)),
        (81, 263, (25.53, 36.62)),
        (50, 100, (40.38, 59.62)),
    ],
)
def test_the_wilson_interval_matches_known_values(events, sessions, expected):
    assert percent(wilson_interval(events, sessions)) == expected


@pytest.mark.parametrize(("events", "sessions"), [(1, 0), (-1, 10), (11, 10)])
def test_an_impossible_count_is_refused(events, sessions):
    with pytest.raises(ValueError):
        wilson_interval(events, sessions)


def test_the_published_figures_are_the_meta_analyses_own():
    figures = {
        (event_type, figure.source, figure.percent)
        for event_type, listed in PUBLISHED.items()
        for figure in listed
    }
    assert ("swelling", "Niu et al. 2021", 35) in figures
    assert ("swelling", "Zhou & Zhuang 2025 (preprint)", 16) in figures
    assert ("bruising", "Zhou & Zhuang 2025 (preprint)", 26) in figures
    assert ("infection", "Niu et al. 2021", 2) in figures
    assert ("dimpling", "Niu et al. 2021", 10) in figures


def test_the_chart_scales_to_the_highest_bound_and_places_the_published_marks():
    rates = [make_rate("swelling", 3, 3, 10), make_rate("infection", 0, 0, 10)]
    chart = chart_for(rates)
    assert chart.scale_max == 70  # the swelling interval reaches 60.3%
    swelling, infection = chart.rows
    assert swelling.bar_width == pytest.approx(chart.plot_width * 30 / 70, abs=0.2)
    assert infection.bar_width == 0
    niu = next(mark for mark in swelling.marks if mark[1] == "niu")
    assert niu[0] == pytest.approx(chart.plot_left + chart.plot_width * 35 / 70, abs=0.2)
    assert chart_for([]) is None
