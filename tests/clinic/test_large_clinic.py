"""The large-clinic seed keeps the rules the services keep, at a hundredth of its size."""

import pytest
from django.db.models import Count

from clinic.site.large_clinic import seed_large_clinic
from consultations.models import FREEING_STATUSES, Appointment, Patient
from treatments.models import SignedConsent, StockLot, TreatmentSession
from treatments.services.consent import verify_consent


@pytest.mark.django_db(transaction=True)
def test_a_seeded_clinic_has_the_counts_and_keeps_the_booking_and_consent_rules(private_media):
    counts = seed_large_clinic(scale=0.01)
    assert counts["patients"] == 1000
    assert counts["appointments"] == 2000
    assert counts["plans"] == 200
    assert counts["sessions"] == 150
    active = Appointment.objects.exclude(status__in=FREEING_STATUSES)
    # No practitioner booked twice at the same time (PostgreSQL also enforces it).
    clashes = active.values("practitioner", "starts_at").annotate(n=Count("pk")).filter(n__gt=1)
    assert not clashes.exists()
    assert not active.values("patient", "starts_at").annotate(n=Count("pk")).filter(n__gt=1)
    consents = list(SignedConsent.objects.all()[:5])
    assert consents and all(verify_consent(c) for c in consents)
    for session in TreatmentSession.objects.all()[:5]:
        assert session.placed.exists()
        assert session.outcomes.exists()
    lot = StockLot.objects.first()
    assert lot.quantity_on_hand < lot.quantity_received
    with pytest.raises(RuntimeError, match="already has patients"):
        seed_large_clinic(scale=0.01)
    assert Patient.objects.count() == 1000
