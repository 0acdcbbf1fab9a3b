"""Get the large clinic ready for the load test; writes what the simulated users need.

Run with the same environment as the server: `python -m bench.loadtest.prepare OUT.json`.
"""

import json
import os
import sys

import django

from clinic.actors import Actor

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")
django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.utils import timezone  # noqa: E402

from clinic.models import Location, Role, StaffMember  # noqa: E402
from clinic.site.large_clinic import seed_large_clinic  # noqa: E402
from consultations.models import Appointment, AppointmentStatus, AppointmentType, Patient  # noqa: E402
from treatments.models import PlanStatus, ThreadProduct, TreatmentPlan, TreatmentSession  # noqa: E402
from treatments.services import plans as plan_services  # noqa: E402


def main(out: str) -> None:
    if not Patient.objects.exists():
        print("seeding the large clinic…", flush=True)
        seed_large_clinic()
    password = os.environ["LOADTEST_PASSWORD"]
    users = get_user_model().objects.filter(username__startswith="seed-")
    for user in users:
        user.set_password(password)
        user.save(update_fields=["password"])
    london = Location.objects.get(name="Threadline London")
    practitioners = StaffMember.objects.filter(role=Role.PRACTITIONER).select_related("user")
    work = []
    for member in practitioners:
        accepted = TreatmentPlan.objects.filter(
            practitioner=member, status=PlanStatus.ACCEPTED
        ).first()
        draft = TreatmentPlan.objects.filter(
            series=accepted.series, status=PlanStatus.DRAFT
        ).first() or plan_services.revise_plan(plan=accepted, actor=Actor.system(user=member.user))
        sessions = list(
            TreatmentSession.objects.filter(practitioner=member).values_list("pk", flat=True)[:50]
        )
        patients = list(
            Appointment.objects.filter(practitioner=member).values_list("patient_id", flat=True)[
                :200
            ]
        )
        work.append(
            {
                "username": member.user.username,
                "plan": draft.pk,
                "sessions": sessions,
                "patients": patients,
            }
        )
    data = {
        "practitioners": list(practitioners.filter(locations=london).values_list("pk", flat=True)),
        "record_numbers": list(
            Patient.objects.order_by("?").values_list("record_number", flat=True)[:2000]
        ),
        "review_type": AppointmentType.objects.get(kind="review").pk,
        "product": ThreadProduct.objects.filter(is_active=True).first().pk,
        "movable": list(
            Appointment.objects.filter(
                location=london, status=AppointmentStatus.BOOKED, starts_at__gt=timezone.now()
            ).values_list("pk", flat=True)[:3000]
        ),
        "practitioner_work": work,
    }
    with open(out, "w") as handle:
        json.dump(data, handle)
    print(f"load-test data written to {out}")


if __name__ == "__main__":
    main(sys.argv[1])
