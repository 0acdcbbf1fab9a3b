"""Booking: the one booking service and everything around the calendar.

- `services`: book, move, cancel and change the status of appointments, and find
  free slots; every booking path goes through it.
- `forms`: the booking and reschedule forms.
- `schedule`: the day and week grids of the calendar.
- `calendar_files`: .ics downloads and each practitioner's private feed.
- `reminders`: the reminders by email and text, sent by a background task.
- `history`: an appointment's moves and status changes, for the chart.
"""
