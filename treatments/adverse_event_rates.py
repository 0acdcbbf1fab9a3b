"""Adverse-event rates per product and lot, with 95% Wilson intervals and published figures.

A rate is the share of sessions with at least one event of a type, per 100
sessions, over the sessions completed at a location in a period; an event
counts in the period of its session, not of its onset, so numerator and
denominator are the same sessions. An event that names lots counts against
those lots (and their products); one that names none counts against every lot
placed in its session, since any of them may be the cause.

The interval is Wilson's score interval: Wilson EB. Probable inference, the law
of succession, and statistical inference. Journal of the American Statistical
Association 1927;22(158):209-212. It stays within 0-100% and behaves at 0 events
and small numbers of sessions, where the plain ±1.96·SE interval does not.

The published figures beside each rate are pooled incidences from two
meta-analyses (both opened; abstracts read):

- NIU: Niu Z, Zhang K, Yao W, Li Y, Jiang W, Zhang Q, Troulis MJ, August M,
  Chen Y, Han Y. A meta-analysis and systematic review of the incidences of
  complications following facial thread-lifting. Aesthetic Plastic Surgery
  2021;45(5):2148-2158, doi:10.1007/s00266-021-02256-w, Results (abstract): 26
  studies; swelling 35%, skin dimpling 10%, paresthesia 6%, thread
  visibility/palpability 4%, infection 2%, thread extrusion 2%.
- ZHOU: Zhou XC, Zhuang SB. A meta-analysis of complications of thread lifting.
  medRxiv preprint 2025, doi:10.1101/2025.03.10.25323087 (not peer reviewed),
  Results (abstract): 26 studies, 2,827 patients; ecchymoses 26%, swelling 16%,
  pain 11%, paresthesia 10%, skin dimpling or asymmetry 7%, visible or palpable
  threads 6%, thread exposure 5%, infection 2%; high heterogeneity (swelling
  I² 92%).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date

from clinic.models import Location
from consultations.booking.services import day_bounds
from treatments.models import AdverseEvent, AdverseEventType, PlacedThreads, TreatmentSession

# The normal quantile for a two-sided 95% interval.
Z_95 = 1.959963984540054


def wilson_interval(events: int, trials: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson's score interval for `events` out of `trials`, as proportions (0 to 1).

    Wilson 1927 (see the module's docstring): the bounds are
    (p + z²/2n ± z·√(p(1−p)/n + z²/4n²)) / (1 + z²/n), with p = events / trials.
    """
    if trials <= 0:
        raise ValueError("A rate needs at least one session.")
    if not 0 <= events <= trials:
        raise ValueError("Events must be between 0 and the number of sessions.")
    p = events / trials
    z2 = z * z
    denominator = 1 + z2 / trials
    centre = (p + z2 / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials)) / denominator
    # At 0 or n events one bound is exactly 0 or 1; rounding must not push it past.
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class PublishedFigure:
    source: str  # "Niu 2021" or "Zhou 2025 (preprint)"
    label: str  # the complication as the paper names it
    percent: float


NIU = "Niu et al. 2021"
ZHOU = "Zhou & Zhuang 2025 (preprint)"
SOURCES = {
    NIU: "Niu Z, Zhang K, Yao W, et al. A meta-analysis and systematic review of the "
    "incidences of complications following facial thread-lifting. Aesthetic Plastic Surgery "
    "2021;45(5):2148-2158. doi:10.1007/s00266-021-02256-w",
    ZHOU: "Zhou XC, Zhuang SB. A meta-analysis of complications of thread lifting. medRxiv "
    "2025, doi:10.1101/2025.03.10.25323087. A preprint: not peer reviewed.",
}
PUBLISHED: dict[str, list[PublishedFigure]] = {
    AdverseEventType.SWELLING: [
        PublishedFigure(NIU, "swelling", 35),
        PublishedFigure(ZHOU, "swelling", 16),
    ],
    AdverseEventType.BRUISING: [PublishedFigure(ZHOU, "ecchymoses", 26)],
    AdverseEventType.PAIN: [PublishedFigure(ZHOU, "pain", 11)],
    AdverseEventType.DIMPLING: [
        PublishedFigure(NIU, "skin dimpling", 10),
        PublishedFigure(ZHOU, "skin dimpling or asymmetry", 7),
    ],
    AdverseEventType.ALTERED_SENSATION: [
        PublishedFigure(NIU, "paresthesia", 6),
        PublishedFigure(ZHOU, "paresthesia", 10),
    ],
    AdverseEventType.VISIBLE_THREAD: [
        PublishedFigure(NIU, "thread visibility or palpability", 4),
        PublishedFigure(ZHOU, "visible or palpable threads", 6),
    ],
    AdverseEventType.EXTRUSION: [
        PublishedFigure(NIU, "thread extrusion", 2),
        PublishedFigure(ZHOU, "thread exposure", 5),
    ],
    AdverseEventType.INFECTION: [
        PublishedFigure(NIU, "infection", 2),
        PublishedFigure(ZHOU, "infection", 2),
    ],
}


@dataclass(frozen=True)
class Rate:
    """Sessions with an event of a type, per 100 sessions, with its 95% Wilson interval."""

    event_type: str
    label: str
    events: int  # events of this type
    sessions_affected: int
    sessions: int
    per_100: float
    low: float
    high: float
    published: list[PublishedFigure]

    @property
    def published_range(self) -> str:
        values = sorted({figure.percent for figure in self.published})
        if not values:
            return ""
        if len(values) == 1:
            return f"{values[0]:g}%"
        return f"{values[0]:g}–{values[-1]:g}%"


def make_rate(event_type: str, events: int, affected: int, sessions: int) -> Rate:
    low, high = wilson_interval(affected, sessions)
    return Rate(
        event_type=event_type,
        label=AdverseEventType(event_type).label,
        events=events,
        sessions_affected=affected,
        sessions=sessions,
        per_100=round(100 * affected / sessions, 1),
        low=round(100 * low, 1),
        high=round(100 * high, 1),
        published=PUBLISHED.get(event_type, []),
    )


@dataclass
class Tally:
    """Sessions, threads and events of one product or one lot in the period."""

    sessions: set[int] = field(default_factory=set)
    threads: int = 0
    events: Counter[str] = field(default_factory=Counter)
    affected: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    with_any: set[int] = field(default_factory=set)

    def rates(self) -> list[Rate]:
        """A rate for every type with a published figure or an event, published ones first."""
        n = len(self.sessions)
        if not n:
            return []
        types = [t for t in AdverseEventType.values if t in PUBLISHED or self.events[t]]
        return [
            make_rate(t, self.events[t], len(self.affected.get(t, ())), n)
            for t in sorted(types, key=lambda t: (t not in PUBLISHED, -self.events[t]))
        ]

    def any_event(self) -> Rate | None:
        n = len(self.sessions)
        if not n:
            return None
        low, high = wilson_interval(len(self.with_any), n)
        return Rate(
            event_type="any",
            label="Any adverse event",
            events=sum(self.events.values()),
            sessions_affected=len(self.with_any),
            sessions=n,
            per_100=round(100 * len(self.with_any) / n, 1),
            low=round(100 * low, 1),
            high=round(100 * high, 1),
            published=[],
        )


@dataclass
class ProductRates:
    product_id: int
    name: str
    manufacturer: str
    material: str
    tally: Tally
    lots: list[LotRates] = field(default_factory=list)


@dataclass
class LotRates:
    lot_id: int
    lot_number: str
    expires_on: date
    tally: Tally


def rates_by_product_and_lot(location: Location, start: date, end: date) -> list[ProductRates]:
    """Each product and each of its lots placed at `location` in sessions completed from
    `start` to `end` (local days, inclusive): sessions, threads, events by type, rates.

    Three queries whatever the numbers: the placements, the events of those
    sessions, and the lots the events name.
    """
    first, _ = day_bounds(start, location)
    _, last = day_bounds(end, location)
    sessions = TreatmentSession.objects.filter(
        location=location, completed_at__gte=first, completed_at__lt=last
    )
    placements = list(
        PlacedThreads.objects.filter(session__in=sessions)
        .select_related("product", "lot")
        .order_by("product__name", "lot__lot_number", "pk")
    )
    products: dict[int, ProductRates] = {}
    lots: dict[int, LotRates] = {}
    lots_of_session: dict[int, set[int]] = defaultdict(set)
    for row in placements:
        product = products.get(row.product_id)
        if product is None:
            product = products[row.product_id] = ProductRates(
                product_id=row.product_id,
                name=row.product.name,
                manufacturer=row.product.manufacturer,
                material=row.product.get_material_display(),
                tally=Tally(),
            )
        lot = lots.get(row.lot_id)
        if lot is None:
            lot = lots[row.lot_id] = LotRates(
                lot_id=row.lot_id,
                lot_number=row.lot.lot_number,
                expires_on=row.lot.expires_on,
                tally=Tally(),
            )
            product.lots.append(lot)
        for tally in (product.tally, lot.tally):
            tally.sessions.add(row.session_id)
            tally.threads += row.count
        lots_of_session[row.session_id].add(row.lot_id)
    product_of_lot = {lot_id: p.product_id for p in products.values() for lot_id in _ids(p)}
    events = AdverseEvent.objects.filter(session__in=sessions).prefetch_related("lots")
    for event in events:
        named = {lot.pk for lot in event.lots.all()} & lots_of_session[event.session_id]
        blamed = named or lots_of_session[event.session_id]
        for product_id in {product_of_lot[lot_id] for lot_id in blamed}:
            _count(products[product_id].tally, event)
        for lot_id in blamed:
            _count(lots[lot_id].tally, event)
    return sorted(products.values(), key=lambda p: (p.name, p.manufacturer))


def _ids(product: ProductRates) -> list[int]:
    return [lot.lot_id for lot in product.lots]


def _count(tally: Tally, event: AdverseEvent) -> None:
    tally.events[event.event_type] += 1
    tally.affected[event.event_type].add(event.session_id)
    tally.with_any.add(event.session_id)


# The chart ---------------------------------------------------------------------------

CHART_LABEL_WIDTH = 190
CHART_PLOT_WIDTH = 420
CHART_ROW_HEIGHT = 26
CHART_TOP = 24


@dataclass(frozen=True)
class ChartRow:
    """One row of the chart, in SVG user units: the clinic's rate and the published marks."""

    label: str
    y: float
    bar_width: float
    low_x: float
    high_x: float
    marks: list[tuple[float, str, str, str]]  # (x, "niu"|"zhou", title, diamond points)
    text: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    plot_left: int
    plot_width: int
    scale_max: int
    ticks: list[tuple[float, str]]
    rows: list[ChartRow]


def chart_for(rates: list[Rate]) -> Chart | None:
    """Geometry for a horizontal bar chart of the rates with their intervals and the
    published figures beside them; numbers only (the template escapes every text)."""
    if not rates:
        return None
    top = max([r.high for r in rates] + [f.percent for r in rates for f in r.published])
    scale_max = min(100, max(10, math.ceil(top / 10.0) * 10))

    def x(percent: float) -> float:
        return round(CHART_LABEL_WIDTH + CHART_PLOT_WIDTH * min(percent, scale_max) / scale_max, 1)

    rows = []
    for index, rate in enumerate(rates):
        y = CHART_TOP + index * CHART_ROW_HEIGHT
        marks = []
        for figure in rate.published:
            mx, my = x(figure.percent), y + 11
            diamond = f"{mx},{my - 8} {mx + 5},{my} {mx},{my + 8} {mx - 5},{my}"
            marks.append(
                (
                    mx,
                    "niu" if figure.source == NIU else "zhou",
                    f"{figure.source}: {figure.label} {figure.percent:g}%",
                    diamond,
                )
            )
        rows.append(
            ChartRow(
                label=rate.label,
                y=y,
                bar_width=round(x(rate.per_100) - CHART_LABEL_WIDTH, 1),
                low_x=x(rate.low),
                high_x=x(rate.high),
                marks=marks,
                text=f"{rate.per_100:g}% (95% CI {rate.low:g}–{rate.high:g}%)",
            )
        )
    step = scale_max // 5
    ticks = [(x(value), f"{value}%") for value in range(0, scale_max + 1, step)]
    return Chart(
        width=CHART_LABEL_WIDTH + CHART_PLOT_WIDTH + 20,
        height=CHART_TOP + len(rates) * CHART_ROW_HEIGHT + 24,
        plot_left=CHART_LABEL_WIDTH,
        plot_width=CHART_PLOT_WIDTH,
        scale_max=scale_max,
        ticks=ticks,
        rows=rows,
    )
