"""The calendar grid's cells and appointments, written in one pass.

A day at a busy location has hundreds of quarter-hour cells and appointments; drawn
through template includes, each cost dozens of template nodes, two URL reverses and
a dozen number formats (about 14,000 nodes a page). Here each is one string, with
the URLs reversed once per page and every value escaped. The markup is what
templates/consultations/calendar/_grid.html drew before; calendar.js and the
stylesheet read its classes and data- attributes.
"""

from django import template
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from consultations.booking.schedule import Block, By, Cell, CellState, Column

register = template.Library()

# Reversed once with this stand-in for the appointment's number, then filled in.
_PK = 2_147_000_001


def _with_pk(url_name: str) -> tuple[str, str]:
    before, after = reverse(url_name, args=[_PK]).split(str(_PK))
    return before, after


def _drop_target(cell: Cell, column: Column) -> str:
    """The attributes that let an appointment be dropped on the cell (calendar.js)."""
    text = f' data-drop data-start="{cell.local_iso}"'
    if column.practitioner is not None:
        text += f' data-practitioner="{column.practitioner.pk}"'
    if column.room is not None:
        text += f' data-room="{column.room.pk}"'
    return text


def _cell(cell: Cell, column: Column, book_url: str) -> str:
    hour = " hour" if cell.row.on_the_hour else ""
    place = f"gr-{cell.grid_row} gc-{cell.grid_column}{hour}"
    if cell.is_free:
        return (
            f'<a class="cal-cell state-free {place}" '
            f'href="{book_url}?{escape(cell.booking_query)}" aria-label="{escape(cell.label)}" '
            f'data-testid="free-slot"{_drop_target(cell, column)}>'
            f'<span class="slot-hint" aria-hidden="true">+ {cell.row.label}</span></a>'
        )
    drop = _drop_target(cell, column) if cell.state != CellState.NONE else ""
    return f'<div class="cal-cell state-{cell.state} {place}"{drop}></div>'


def _block(
    block: Block, *, by: str, week: bool, detail: tuple[str, str], move: tuple[str, str]
) -> str:
    appointment = block.appointment
    pk = appointment.pk
    lanes = f" lanes-{block.lanes} lane-{block.lane}" if block.lanes > 1 else ""
    if appointment.patient_id is None:
        # An online hold: no patient yet, nothing to open or move.
        return (
            f'<div class="appt status-held gr-{block.grid_row_start} '
            f'ge-{block.grid_row_end} gc-{block.grid_column}{lanes}" data-testid="online-hold" '
            f'data-colour="{escape(appointment.appointment_type.colour)}">\n'
            f'  <span class="appt-line"><span class="appt-time">{block.time_label}</span> '
            f'<span class="appt-patient">{escape(block.hold_label)}</span></span>\n'
            f'  <span class="appt-line"><span class="appt-type">'
            f"{escape(appointment.appointment_type.name)}</span></span>\n</div>"
        )
    patient = appointment.booked_patient
    time_label = block.time_label
    practitioner = escape(str(appointment.practitioner))
    moving = ""
    if block.movable:
        moving = (
            f' draggable="true" data-move-url="{move[0]}{pk}{move[1]}" '
            f'data-label="{time_label} {escape(patient.full_name)}"'
        )
    if by == By.ROOM:
        where = f'<span class="appt-line">{practitioner}</span>'
    elif appointment.room is not None:
        where = f'<span class="appt-line">{escape(appointment.room.name)}</span>'
    else:
        where = ""
    with_whom = (
        f'<span class="visually-hidden">with {practitioner}</span>'
        if by != By.ROOM and not week
        else ""
    )
    return (
        f'<a class="appt status-{escape(block.status)} gr-{block.grid_row_start} '
        f'ge-{block.grid_row_end} gc-{block.grid_column}{lanes}" '
        f'href="{detail[0]}{pk}{detail[1]}" data-testid="appointment" '
        f'data-colour="{escape(appointment.appointment_type.colour)}"{moving}>\n'
        f'  <span class="appt-line"><span class="appt-time">{time_label}</span> '
        f'<span class="appt-patient">{escape(patient.display_name)}</span></span>\n'
        f'  <span class="appt-line"><span class="appt-type">'
        f"{escape(appointment.appointment_type.name)}</span> "
        f'<span class="appt-status">{escape(appointment.get_status_display())}</span></span>\n'
        f"  {where}\n  {with_whom}\n</a>"
    )


@register.simple_tag
def grid_items(items: list[Cell | Block], column: Column, by: str, week: bool) -> SafeString:
    """A column's cells and appointments, in the order the keyboard visits them."""
    book_url = reverse("consultations:appointment_book")
    detail = _with_pk("consultations:appointment_detail")
    move = _with_pk("consultations:appointment_move")
    parts = [
        _block(item, by=by, week=week, detail=detail, move=move)
        if isinstance(item, Block)
        else _cell(item, column, book_url)
        for item in items
    ]
    return mark_safe("\n    ".join(parts))  # noqa: S308 (every value above is escaped or a number)
