"""Free the online booking holds past their time (run every few minutes, e.g. from cron).

Bookings release the expired holds they meet as they go; this sweep frees the rest so
the calendar stops showing them.
"""

from django.core.management.base import BaseCommand

from consultations.booking.services import release_expired_holds


class Command(BaseCommand):
    help = "Free the online booking holds past their time."

    def handle(self, *args, **options):
        released = release_expired_holds()
        self.stdout.write(f"Released {released} expired online hold(s).")
