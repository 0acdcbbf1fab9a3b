"""The consent to read at home: the practitioner sends it, the patient reads it on a phone.

The patient's page is the page of LinkPurpose.CONSENT_READING behind the one public
URL, /p/<token>/ (consultations.views.patient_links opens the link, limits requests
and audits the open; TreatmentsConfig.ready registers this page). It shows the first
name and the clinic, and the same words the tablet shows at signing, through the
signing page's own includes. It signs nothing: signing stays in the clinic.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.http import require_POST

from clinic.actors import Actor
from clinic.permissions import require_permission
from clinic.signed_in import SignedInRequest
from consultations import patient_links
from consultations.models import PatientLink
from consultations.views.patient_links import public_page
from treatments.aftercare import NORMAL_SETTLES, WARNING_SIGNS, WHAT_IS_NORMAL, planned_aftercare
from treatments.documents import diagram_context, vector_rows
from treatments.services import consent_reading as reading_services
from treatments.services.consent import fill_consent_text
from treatments.views.plans import plan_or_404


@require_permission("treatments.change_treatmentplan")
@require_POST
def consent_reading_send(request: SignedInRequest, pk: int) -> HttpResponse:
    """Send the patient the consent text of this plan version to read at home."""
    plan = plan_or_404(request, pk)
    try:
        reading = reading_services.send_consent_to_read(
            plan=plan, actor=Actor.from_request(request)
        )
    except ValidationError as error:
        messages.error(request, "Nothing was sent. " + " ".join(error.messages))
    except patient_links.LinkNotSent as error:
        messages.error(request, f"Nothing was sent. {error}")
    else:
        patient = plan.patient
        messages.success(
            request,
            f"The consent to plan version {plan.version} is on its way to "
            f"{patient.preferred_name or patient.first_name} ({reading.link.sent_by}).",
        )
    return redirect("treatments:planner", pk=plan.pk)


def consent_reading_page(request: HttpRequest, link: PatientLink, actor: Actor) -> HttpResponse:
    """The consent text to read at home, and "I have read this to the end" (a POST)."""
    reading = reading_services.reading_for_link(link)
    if reading is None:
        return public_page(request, "public/link_unknown.html", {}, status=404)
    location = link.location
    plan = reading.plan
    patient = plan.patient
    first_name = patient.preferred_name or patient.first_name
    changed = reading_services.changed_since_sent(reading)
    if request.method == "POST":
        # The button's presence is the whole answer; a changed plan's old text is not
        # recorded as read (its page says so).
        if not changed:
            reading_services.record_read_to_end(reading=reading, actor=actor)
        return redirect(request.path + "#read-to-end")
    if changed:
        return public_page(
            request,
            "treatments/consent_reading/changed.html",
            {"location": location, "first_name": first_name},
        )
    reading_services.record_opened(reading=reading, actor=actor)
    template = reading.template
    vectors = list(plan.vectors.select_related("product"))
    today = timezone.localdate(timezone=location.zone)
    context = {
        "location": location,
        "first_name": first_name,
        "plan": plan,
        "template": template,
        # The text the tablet will show, naming the patient by first name only here.
        "consent_text": fill_consent_text(template, plan, patient_name=first_name),
        "risks": list(template.risks),
        "rows": vector_rows(plan, vectors),
        **diagram_context(vectors),
        "cooling_off_days": location.cooling_off_days(patient.age_on(today)),
        "aftercare": planned_aftercare(plan),
        "what_is_normal": WHAT_IS_NORMAL,
        "normal_settles": NORMAL_SETTLES,
        "warning_signs": WARNING_SIGNS,
        "read_to_end_at": (
            timezone.localtime(reading.read_to_end_at, location.zone)
            if reading.read_to_end_at
            else None
        ),
    }
    return public_page(request, "treatments/consent_reading/page.html", context)
