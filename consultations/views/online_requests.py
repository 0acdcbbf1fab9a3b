"""The front desk's side of online booking: an online booking whose details match an
existing patient waits here until the desk says who the patient is.

The desk links it to one of the possible matches, or registers a new patient from what
was typed; either way the held time becomes a booked appointment
(consultations.booking.online). Nobody is merged automatically.
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from clinic.access import get_for_user_or_404
from clinic.actors import Actor
from clinic.permissions import require_permission
from clinic.signed_in import SignedInRequest
from consultations.booking import online
from consultations.booking import services as booking
from consultations.models import OnlineBookingRequest, Patient


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("link", "link"), ("register", "register")])
    patient = forms.ModelChoiceField(queryset=Patient.objects.none(), required=False)

    def __init__(self, *args, request: OnlineBookingRequest, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["patient"].queryset = request.candidates.all()  # type: ignore[attr-defined]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("decision") == "link" and not cleaned.get("patient"):
            self.add_error("patient", "Choose the patient this booking is for.")
        return cleaned


@require_permission("clinic.manage_bookings")
@require_http_methods(["GET", "POST"])
def online_request(request: SignedInRequest, pk: int) -> HttpResponse:
    """One online booking to confirm: what was typed, the possible matches, the decision."""
    online_booking = get_for_user_or_404(
        OnlineBookingRequest.objects.select_related(
            "appointment__location",
            "appointment__appointment_type",
            "appointment__practitioner__user",
        ),
        request.user,
        pk=pk,
    )
    form = DecisionForm(request.POST if request.method == "POST" else None, request=online_booking)
    status = 200
    if request.method == "POST":
        status = 400
        if online_booking.decided_at is not None:
            form.add_error(None, "This online booking has already been dealt with.")
        elif form.is_valid():
            actor = Actor.from_request(request)
            try:
                if form.cleaned_data["decision"] == "link":
                    appointment = online.link_online_request(
                        online_request=online_booking,
                        patient=form.cleaned_data["patient"],
                        actor=actor,
                    )
                else:
                    appointment = online.register_from_online_request(
                        online_request=online_booking, actor=actor
                    )
            except booking.SlotUnavailable as taken:
                form.add_error(None, taken.message)
            except ValidationError as error:
                form.add_error(None, " ".join(error.messages))
            else:
                messages.success(
                    request,
                    f"Booked online for {appointment.patient.full_name}.",  # type: ignore[union-attr]
                )
                return redirect("consultations:appointment_detail", appointment.pk)
    with timezone.override(online_booking.appointment.location.zone):
        return render(
            request,
            "consultations/appointments/online_request.html",
            {
                "online": online_booking,
                "details": online_booking.details,
                "candidates": list(online_booking.candidates.order_by("last_name", "first_name")),
                "form": form,
            },
            status=status,
        )
