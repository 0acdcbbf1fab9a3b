"""Read-side queries for the calendar: who works when, and where each appointment sits.

The grid is drawn on the location's wall clock: one row per quarter hour from
the earliest opening to the latest closing that day (widened to show any
appointment outside the hours). Instants are UTC in the database and become
local here, so a 10:00 appointment sits on the 10:00 row on a normal day as on
the days the clocks change; the UTC range of a day comes from
`booking.day_bounds` (23 or 25 hours on those days).

Each function runs a fixed number of queries, however many appointments the
day holds: the page's query count never grows with the bookings.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.db.models import Q
from django.utils import timezone

from clinic.models import Location, Room, StaffMember, TimeOff, WorkingHours
from consultations.booking.services import day_bounds, overlapping
from consultations.models import FREEING_STATUSES, Appointment, AppointmentStatus

ROW_MINUTES = 15
# The rows drawn on a day nobody works, so the page still shows a day.
QUIET_DAY = (9 * 60, 17 * 60)
MAX_LANES = 3
# What the grid never shows of a patient, left unread: a stored phone number is parsed
# into an object as each row loads, a cost paid for every appointment of the week.
# An online hold that ended without a patient (expired, or stopped): nothing to draw.
RELEASED_HOLD = {"patient__isnull": True, "status__in": FREEING_STATUSES}
UNDRAWN_PATIENT_FIELDS = ("patient__phone", "patient__email", "patient__address")


class By(StrEnum):
    PRACTITIONER = "practitioner"
    ROOM = "room"


class CellState(StrEnum):
    FREE = "free"
    CLOSED = "closed"  # outside working hours, or a time the clocks skip
    AWAY = "away"  # time off
    BUSY = "busy"  # under an appointment here
    BUFFER = "buffer"  # kept free after an appointment
    ELSEWHERE = "elsewhere"  # booked at another location
    FULL = "full"  # the room is free but no practitioner is
    PAST = "past"
    NONE = "none"  # the "no room" column: nothing to book there


@dataclass(frozen=True)
class Row:
    index: int
    minute: int  # minutes after local midnight

    @property
    def grid_row(self) -> int:
        return self.index + 2  # row 1 holds the column headings

    @property
    def label(self) -> str:
        return f"{self.minute // 60:02d}:{self.minute % 60:02d}"

    @property
    def on_the_hour(self) -> bool:
        return self.minute % 60 == 0


@dataclass(frozen=True)
class Column:
    index: int
    day: date
    label: str
    practitioner: StaffMember | None = None
    room: Room | None = None

    @property
    def grid_column(self) -> int:
        return self.index + 2  # column 1 holds the times

    @property
    def key(self) -> str:
        if self.room is not None:
            return f"room-{self.room.pk}"
        if self.practitioner is not None:
            return f"practitioner-{self.practitioner.pk}-{self.day.isoformat()}"
        return f"none-{self.day.isoformat()}"


@dataclass(frozen=True)
class Cell:
    """One quarter hour of one column: free to book, or why not."""

    column: Column
    row: Row
    starts_at: datetime  # aware, in the location's zone
    state: CellState
    practitioner: StaffMember | None = None  # whom a booking here would be with
    room: Room | None = None

    is_block = False  # not a field: tells cells from appointments in the template

    @property
    def grid_row(self) -> int:
        return self.row.grid_row

    @property
    def grid_column(self) -> int:
        return self.column.grid_column

    @property
    def grid_row_start(self) -> int:
        return self.row.grid_row

    @property
    def is_free(self) -> bool:
        return self.state == CellState.FREE

    @property
    def local_iso(self) -> str:
        return self.starts_at.strftime("%Y-%m-%dT%H:%M")

    @property
    def label(self) -> str:
        """What a screen reader announces for a free cell's booking link."""
        when = f"{self.starts_at:%H:%M}"
        if self.column.room is not None:
            who = f" with {self.practitioner}" if self.practitioner else ""
            return f"Book {self.column.room.name}{who} at {when}"
        if self.column.practitioner is not None:
            return f"Book with {self.practitioner} at {when}"
        on = f"{self.starts_at:%a} {self.starts_at.day} {self.starts_at:%b}"
        return f"Book with {self.practitioner} on {on} at {when}"

    @property
    def booking_query(self) -> str:
        """The booking form's prefill for this cell: ?start=…&practitioner=…&room=…"""
        params = {"start": self.local_iso}
        if self.practitioner is not None:
            params["practitioner"] = str(self.practitioner.pk)
        if self.room is not None:
            params["room"] = str(self.room.pk)
        return urlencode(params)


@dataclass(frozen=True)
class Block:
    """An appointment placed on the grid."""

    appointment: Appointment
    column: Column
    first_row: int  # index of the first row it covers
    end_row: int  # index after the last row it covers
    local_start: datetime
    local_end: datetime
    lane: int = 0
    lanes: int = 1
    is_block = True

    @property
    def grid_column(self) -> int:
        return self.column.grid_column

    @property
    def grid_row_start(self) -> int:
        return self.first_row + 2

    @property
    def grid_row_end(self) -> int:
        return self.end_row + 2

    @property
    def movable(self) -> bool:
        return self.appointment.status == AppointmentStatus.BOOKED

    @property
    def hold_label(self) -> str:
        """For an online hold (no patient yet): what the grid says in place of a name."""
        expires_at = self.appointment.hold_expires_at
        if expires_at is None:
            return "Online booking: the desk is checking the patient's details"
        local = expires_at.astimezone(self.local_start.tzinfo)
        return f"Held for an online booking until {local:%H:%M}"

    @property
    def status(self) -> str:
        return self.appointment.status

    @property
    def time_label(self) -> str:
        return _time_label(self.local_start, self.local_end)


@dataclass(frozen=True)
class Listed:
    """An appointment listed beside the grid (cancelled and no-shows), with its local times."""

    appointment: Appointment
    local_start: datetime
    local_end: datetime

    @property
    def time_label(self) -> str:
        return _time_label(self.local_start, self.local_end)


def _time_label(start: datetime, end: datetime) -> str:
    return f"{start:%H:%M}–{end:%H:%M}"


@dataclass
class Schedule:
    """Everything the calendar grid draws, for one day (columns by person or room) or a week."""

    location: Location
    days: list[date]
    by: str
    columns: list[Column]
    rows: list[Row]
    cells: list[Cell]
    blocks: list[Block]
    ended: list[Listed] = field(default_factory=list)  # cancelled and no-shows
    now: datetime | None = None  # local

    @property
    def first_minute(self) -> int:
        return self.rows[0].minute if self.rows else 0

    @property
    def today_columns(self) -> list[Column]:
        today = self.now.date() if self.now else None
        return [column for column in self.columns if column.day == today]

    @property
    def column_items(self) -> list[tuple[Column, list[Cell | Block]]]:
        """Each column with its cells and appointments in time order (the keyboard's order)."""
        items: dict[str, list[Cell | Block]] = {column.key: [] for column in self.columns}
        everything: list[Cell | Block] = [*self.blocks, *self.cells]
        for item in everything:
            items[item.column.key].append(item)
        return [
            (
                column,
                sorted(
                    items[column.key], key=lambda item: (item.grid_row_start, not item.is_block)
                ),
            )
            for column in self.columns
        ]


# -- helpers -------------------------------------------------------------------------------


def _minute(local: datetime, day: date) -> int:
    """Wall-clock minutes of `local` after the local midnight that starts `day`."""
    return (local.date() - day).days * 24 * 60 + local.hour * 60 + local.minute


def _hours_minutes(row: WorkingHours) -> tuple[int, int]:
    start = row.starts_at.hour * 60 + row.starts_at.minute
    end = row.ends_at.hour * 60 + row.ends_at.minute
    return start, end


def _wall_clock(day: date, minute: int, zone: ZoneInfo) -> tuple[datetime, bool]:
    """The aware local time `minute` after midnight on `day`, and whether the clock shows it.

    On the night the clocks go forward the skipped hour does not exist;
    such rows are drawn closed.
    """
    naive = datetime.combine(day, time.min) + timedelta(minutes=minute)
    aware = naive.replace(tzinfo=zone)
    exists = aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == naive
    return aware, exists


def _overlaps(spans, start: datetime, end: datetime) -> bool:
    return any(s < end and start < e for s, e in spans)


def _rows(spans: list[tuple[int, int]]) -> list[Row]:
    if not spans:
        spans = [QUIET_DAY]
    first = max(0, min(s for s, _ in spans) // ROW_MINUTES * ROW_MINUTES)
    last = min(24 * 60, -(-max(e for _, e in spans) // ROW_MINUTES) * ROW_MINUTES)
    return [
        Row(index=i, minute=minute)
        for i, minute in enumerate(range(first, max(last, first + ROW_MINUTES), ROW_MINUTES))
    ]


def _listed(appointment: Appointment, zone: ZoneInfo) -> Listed:
    return Listed(
        appointment,
        timezone.localtime(appointment.starts_at, zone),
        timezone.localtime(appointment.ends_at, zone),
    )


def _block(appointment: Appointment, column: Column, rows: list[Row], zone: ZoneInfo) -> Block:
    local_start = timezone.localtime(appointment.starts_at, zone)
    local_end = timezone.localtime(appointment.ends_at, zone)
    first_minute = rows[0].minute
    start = _minute(local_start, column.day)
    end = _minute(local_end, column.day)
    first_row = max(0, (start - first_minute) // ROW_MINUTES)
    end_row = min(len(rows), -(-(end - first_minute) // ROW_MINUTES))
    # Across the autumn change the end can read earlier than the start: keep one row at least.
    end_row = max(end_row, min(first_row + 1, len(rows)))
    first_row = min(first_row, end_row - 1)
    return Block(appointment, column, first_row, end_row, local_start, local_end)


def _with_lanes(blocks: list[Block]) -> list[Block]:
    """Side by side where appointments in one column overlap (only the "no room" column can)."""
    by_column: dict[str, list[Block]] = {}
    for block in sorted(blocks, key=lambda b: (b.column.index, b.first_row, b.end_row)):
        by_column.setdefault(block.column.key, []).append(block)
    placed: list[Block] = []
    for column_blocks in by_column.values():
        cluster: list[Block] = []
        cluster_end = -1
        for block in column_blocks:
            if cluster and block.first_row >= cluster_end:
                placed.extend(_lane_cluster(cluster))
                cluster = []
            cluster.append(block)
            cluster_end = max(cluster_end, block.end_row)
        placed.extend(_lane_cluster(cluster))
    return placed


def _lane_cluster(cluster: list[Block]) -> list[Block]:
    """Give each block of a run of overlapping blocks the first lane free when it starts."""
    lane_ends: list[int] = []
    lanes: list[int] = []
    for block in cluster:
        lane = next((i for i, end in enumerate(lane_ends) if end <= block.first_row), None)
        if lane is None:
            lane = len(lane_ends)
            lane_ends.append(block.end_row)
        else:
            lane_ends[lane] = block.end_row
        lanes.append(lane)
    count = min(MAX_LANES, len(lane_ends))
    return [
        replace(block, lane=min(lane, MAX_LANES - 1), lanes=count)
        for block, lane in zip(cluster, lanes, strict=True)
    ]


@dataclass
class _Staffing:
    """One practitioner's day at the location: hours (wall-clock minutes), time off, bookings."""

    hours: list[tuple[int, int]] = field(default_factory=list)
    away: list[tuple[datetime, datetime]] = field(default_factory=list)
    here: list[tuple[datetime, datetime, datetime]] = field(default_factory=list)
    elsewhere: list[tuple[datetime, datetime]] = field(default_factory=list)

    def state(self, minute: int, start: datetime, end: datetime) -> CellState:
        if not any(s <= minute and minute + ROW_MINUTES <= e for s, e in self.hours):
            return CellState.CLOSED
        if _overlaps(self.away, start, end):
            return CellState.AWAY
        if _overlaps([(s, e) for s, e, _ in self.here], start, end):
            return CellState.BUSY
        if _overlaps([(e, b) for _, e, b in self.here], start, end):
            return CellState.BUFFER
        if _overlaps(self.elsewhere, start, end):
            return CellState.ELSEWHERE
        return CellState.FREE


def _practitioners_at(location: Location) -> dict[int, StaffMember]:
    staff = StaffMember.objects.practitioners_at(location)
    return {member.pk: member for member in staff}


def _appointments(*, location: Location, staff_ids, start: datetime, end: datetime):
    """Appointments here, and the practitioners' bookings anywhere, meeting [start, end)."""
    return list(
        overlapping(
            Appointment.objects.filter(Q(location=location) | Q(practitioner__in=list(staff_ids))),
            start,
            end,
        )
        .exclude(**RELEASED_HOLD)
        .exclude(status=AppointmentStatus.HELD, hold_expires_at__lte=timezone.now())
        .select_related("patient", "appointment_type", "practitioner__user", "room")
        .defer(*UNDRAWN_PATIENT_FIELDS)
        .order_by("starts_at", "pk")
    )


# -- the day -------------------------------------------------------------------------------


def day_schedule(
    *, location: Location, day: date, by: str = By.PRACTITIONER, now: datetime | None = None
) -> Schedule:
    """One day at a location: a column per practitioner working there (or per room).

    Five queries: practitioners, their hours that weekday, their time off,
    the day's appointments (with patient, type, practitioner and room), rooms.
    """
    by = By(by)
    zone = location.zone
    now = now or timezone.now()
    day_start, day_end = day_bounds(day, location)

    staff = _practitioners_at(location)
    staffing: dict[int, _Staffing] = {}
    for row in WorkingHours.objects.filter(
        location=location, weekday=day.weekday(), staff__in=list(staff)
    ).order_by("starts_at"):
        staffing.setdefault(row.staff_id, _Staffing()).hours.append(_hours_minutes(row))
    working = set(staffing)
    for time_off in TimeOff.objects.filter(
        staff__in=list(staff), starts_at__lt=day_end, ends_at__gt=day_start
    ):
        staffing.setdefault(time_off.staff_id, _Staffing()).away.append(
            (time_off.starts_at, time_off.ends_at)
        )

    appointments = _appointments(location=location, staff_ids=staff, start=day_start, end=day_end)
    here = [a for a in appointments if a.location_id == location.pk]
    active_here = [a for a in here if a.status not in FREEING_STATUSES]
    ended = [_listed(a, zone) for a in here if a.status in FREEING_STATUSES]
    for a in appointments:
        if a.status in FREEING_STATUSES:
            continue
        entry = staffing.setdefault(a.practitioner_id, _Staffing())
        if a.location_id == location.pk:
            entry.here.append((a.starts_at, a.ends_at, a.blocked_until))
        else:
            entry.elsewhere.append((a.starts_at, a.blocked_until))
        staff.setdefault(a.practitioner_id, a.practitioner)

    spans = [span for pk in working for span in staffing[pk].hours]
    spans += [
        (
            max(0, _minute(timezone.localtime(a.starts_at, zone), day)),
            min(24 * 60, _minute(timezone.localtime(a.ends_at, zone), day)),
        )
        for a in active_here
    ]
    rows = _rows([(s, e) for s, e in spans if e > s])

    if by == By.PRACTITIONER:
        shown = set(working) | {a.practitioner_id for a in active_here}
        members = sorted((staff[pk] for pk in shown), key=_staff_order)
        columns = [
            Column(index=i, day=day, label=str(member), practitioner=member)
            for i, member in enumerate(members)
        ]
        # By practitioner here; by room (None: no room) below.
        column_of: dict[int | None, Column] = {
            member.pk: column for member, column in zip(members, columns, strict=True)
        }
        blocks = [_block(a, column_of[a.practitioner_id], rows, zone) for a in active_here]
        cells = [
            _practitioner_cell(column, row, staffing.get(member.pk), zone, now)
            for member, column in zip(members, columns, strict=True)
            for row in rows
        ]
    else:
        used = {a.room_id for a in active_here}
        rooms = list(Room.objects.filter(Q(location=location, is_active=True) | Q(pk__in=used)))
        rooms.sort(key=lambda room: room.name)
        columns = [
            Column(index=i, day=day, label=room.name, room=room) for i, room in enumerate(rooms)
        ]
        if None in used:
            columns.append(Column(index=len(columns), day=day, label="No room"))
        column_of = {column.room.pk if column.room else None: column for column in columns}
        blocks = [_block(a, column_of[a.room_id], rows, zone) for a in active_here]
        busy_rooms: dict[int | None, list[tuple[datetime, datetime, datetime]]] = {}
        for a in active_here:
            busy_rooms.setdefault(a.room_id, []).append((a.starts_at, a.ends_at, a.blocked_until))
        on_duty = sorted((staff[pk] for pk in working), key=_staff_order)
        cells = [
            _room_cell(column, row, busy_rooms, on_duty, staffing, zone, now)
            for column in columns
            for row in rows
        ]
    return Schedule(
        location=location,
        days=[day],
        by=by,
        columns=columns,
        rows=rows,
        cells=cells,
        blocks=_with_lanes(blocks),
        ended=ended,
        now=timezone.localtime(now, zone),
    )


def _staff_order(member: StaffMember) -> tuple[str, str, int]:
    return (member.user.last_name.casefold(), member.user.first_name.casefold(), member.pk)


def _practitioner_cell(
    column: Column, row: Row, staffing: _Staffing | None, zone: ZoneInfo, now: datetime
) -> Cell:
    local, exists = _wall_clock(column.day, row.minute, zone)
    start = local.astimezone(UTC)
    end = start + timedelta(minutes=ROW_MINUTES)
    if not exists or staffing is None:
        state = CellState.CLOSED
    else:
        state = staffing.state(row.minute, start, end)
        if state == CellState.FREE and start < now:
            state = CellState.PAST
    return Cell(column, row, local, state, practitioner=column.practitioner)


def _room_cell(
    column: Column,
    row: Row,
    busy_rooms: dict[int | None, list[tuple[datetime, datetime, datetime]]],
    on_duty: list[StaffMember],
    staffing: dict[int, _Staffing],
    zone: ZoneInfo,
    now: datetime,
) -> Cell:
    local, exists = _wall_clock(column.day, row.minute, zone)
    start = local.astimezone(UTC)
    end = start + timedelta(minutes=ROW_MINUTES)
    if column.room is None:
        return Cell(column, row, local, CellState.NONE)
    states = {m.pk: staffing[m.pk].state(row.minute, start, end) for m in on_duty}
    bookings = busy_rooms.get(column.room.pk, [])
    if not exists or all(state == CellState.CLOSED for state in states.values()):
        state = CellState.CLOSED
    elif _overlaps([(s, e) for s, e, _ in bookings], start, end):
        state = CellState.BUSY
    elif _overlaps([(e, b) for _, e, b in bookings], start, end):
        state = CellState.BUFFER
    elif start < now:
        state = CellState.PAST
    else:
        free = next((m for m in on_duty if states[m.pk] == CellState.FREE), None)
        if free is None:
            return Cell(column, row, local, CellState.FULL, room=column.room)
        return Cell(column, row, local, CellState.FREE, practitioner=free, room=column.room)
    return Cell(column, row, local, state, room=column.room)


# -- the week ------------------------------------------------------------------------------


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def practitioners_at(location: Location) -> list[StaffMember]:
    """The practitioners who work at a location, by name (one query)."""
    return sorted(_practitioners_at(location).values(), key=_staff_order)


def working_that_week(location: Location, monday: date) -> set[int]:
    """The practitioners with hours at the location in the week from `monday`, leaving out
    those away for all of it (two queries)."""
    zone = location.zone
    week_start = datetime.combine(monday, time.min, tzinfo=zone)
    week_end = datetime.combine(monday + timedelta(days=7), time.min, tzinfo=zone)
    with_hours = set(
        WorkingHours.objects.filter(location=location).values_list("staff_id", flat=True)
    )
    away_all_week = set(
        TimeOff.objects.filter(
            staff_id__in=with_hours, starts_at__lte=week_start, ends_at__gte=week_end
        ).values_list("staff_id", flat=True)
    )
    return with_hours - away_all_week


def week_schedule(
    *,
    location: Location,
    practitioner: StaffMember,
    day: date,
    now: datetime | None = None,
) -> Schedule:
    """One practitioner's week (Monday to Sunday) at a location: a column per day.

    Three queries: their hours at the location, their time off, their bookings.
    """
    zone = location.zone
    now = now or timezone.now()
    monday = week_start(day)
    days = [monday + timedelta(days=i) for i in range(7)]
    week_from, _ = day_bounds(days[0], location)
    _, week_until = day_bounds(days[-1], location)

    hours: dict[int, list[tuple[int, int]]] = {}
    for stretch in WorkingHours.objects.filter(staff=practitioner, location=location).order_by(
        "starts_at"
    ):
        hours.setdefault(stretch.weekday, []).append(_hours_minutes(stretch))
    away = [
        (row.starts_at, row.ends_at)
        for row in TimeOff.objects.filter(
            staff=practitioner, starts_at__lt=week_until, ends_at__gt=week_from
        )
    ]
    appointments = list(
        overlapping(Appointment.objects.filter(practitioner=practitioner), week_from, week_until)
        .exclude(**RELEASED_HOLD)
        .exclude(status=AppointmentStatus.HELD, hold_expires_at__lte=timezone.now())
        .select_related("patient", "appointment_type", "room")
        .defer(*UNDRAWN_PATIENT_FIELDS)
        .order_by("starts_at", "pk")
    )
    for appointment in appointments:
        appointment.practitioner = practitioner  # all theirs: not read again for each row
    active = [a for a in appointments if a.status not in FREEING_STATUSES]
    active_here = [a for a in active if a.location_id == location.pk]
    ended = [
        _listed(a, zone)
        for a in appointments
        if a.status in FREEING_STATUSES and a.location_id == location.pk
    ]

    columns = [Column(index=i, day=d, label=f"{d:%a} {d.day} {d:%b}") for i, d in enumerate(days)]
    day_of = {}
    for a in active_here:
        day_of[a.pk] = timezone.localtime(a.starts_at, zone).date()
    spans = [span for rows in hours.values() for span in rows]
    for a in active_here:
        column_day = day_of[a.pk]
        if column_day in days:
            spans.append(
                (
                    _minute(timezone.localtime(a.starts_at, zone), column_day),
                    min(24 * 60, _minute(timezone.localtime(a.ends_at, zone), column_day)),
                )
            )
    rows = _rows([(s, e) for s, e in spans if e > s])

    staffing = {}
    for column in columns:
        column_from, column_until = day_bounds(column.day, location)
        staffing[column.day] = _Staffing(
            hours=hours.get(column.day.weekday(), []),
            away=away,
            here=[
                (a.starts_at, a.ends_at, a.blocked_until)
                for a in active_here
                if a.starts_at < column_until and a.blocked_until > column_from
            ],
            elsewhere=[
                (a.starts_at, a.blocked_until) for a in active if a.location_id != location.pk
            ],
        )
    column_of = {column.day: column for column in columns}
    blocks = [
        _block(a, column_of[day_of[a.pk]], rows, zone)
        for a in active_here
        if day_of[a.pk] in column_of
    ]
    cells = []
    for column in columns:
        for row in rows:
            local, exists = _wall_clock(column.day, row.minute, zone)
            start = local.astimezone(UTC)
            end = start + timedelta(minutes=ROW_MINUTES)
            state = (
                staffing[column.day].state(row.minute, start, end) if exists else CellState.CLOSED
            )
            if state == CellState.FREE and start < now:
                state = CellState.PAST
            cells.append(Cell(column, row, local, state, practitioner=practitioner))
    return Schedule(
        location=location,
        days=days,
        by=By.PRACTITIONER,
        columns=columns,
        rows=rows,
        cells=cells,
        blocks=_with_lanes(blocks),
        ended=ended,
        now=timezone.localtime(now, zone),
    )
