"""Check-ins after a session: the patient's page (from their link) and the practitioner's answers.

The page is registered for LinkPurpose.CHECK_IN from TreatmentsConfig.ready; the one
public URL (consultations.views.patient_links) opens the link, limits the rate and
hands over here. The clinic's phone and what to do in an emergency come first, before
any question: a patient who is unwell should call, not fill in a form.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from clinic.access import get_for_user_or_404
from clinic.actors import Actor
from clinic.permissions import require_permission
from consultations.models import PatientLink
from consultations.views.patient_links import public_page
from treatments.models import CheckInAnswer, CheckInReply
from treatments.services import check_ins

TEMPLATE = "public/check_in.html"


class CheckInForm(forms.Form):
    answer = forms.ChoiceField(
        label="How are you?",
        choices=CheckInAnswer.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": "Choose how you are.",
            "invalid_choice": "Choose how you are.",
        },
    )
    signs = forms.MultipleChoiceField(
        label="Do you notice any of these?",
        required=False,
        choices=[(sign, sign) for sign in check_ins.CHECK_IN_SIGNS],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": "Tick only the signs listed."},
    )
    details = forms.CharField(
        label="What is wrong? Tell us in your own words",
        required=False,
        max_length=check_ins.DETAILS_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


def check_in_page(request: HttpRequest, link: PatientLink, actor: Actor) -> HttpResponse:
    """GET: the question; POST: the answer, once (the link then stops working)."""
    reply = check_ins.reply_for(link)
    if reply is None:
        return public_page(
            request, "public/link_stopped.html", {"location": link.location}, status=410
        )
    form = CheckInForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            reply = check_ins.answer_check_in(
                link=link,
                answer=data["answer"],
                signs=data["signs"],
                details=data["details"],
                actor=actor,
            )
        except ValidationError as error:
            for field, problems in error.message_dict.items():
                for problem in problems:
                    form.add_error(field if field in form.fields else None, problem)
        else:
            return public_page(request, TEMPLATE, _context(link, reply, form, answered=True))
    status = 400 if request.method == "POST" else 200
    return public_page(request, TEMPLATE, _context(link, reply, form), status=status)


def _context(link: PatientLink, reply: CheckInReply, form: CheckInForm, answered=False) -> dict:
    return {
        "location": reply.session.location,
        "first_name": link.patient.preferred_name or link.patient.first_name,
        "form": form,
        "answered": answered,
        "reply": reply,
    }


def _reply_or_404(request: HttpRequest, pk: int) -> CheckInReply:
    return get_for_user_or_404(
        CheckInReply.objects.select_related("session__location", "session__patient"),
        request.user,
        pk=pk,
    )


@require_permission("clinic.record_clinical")
@require_POST
def check_in_adverse_event(request: HttpRequest, pk: int) -> HttpResponse:
    """One click: the patient's "something is wrong" becomes an adverse event to complete."""
    reply = _reply_or_404(request, pk)
    try:
        event = check_ins.report_from_check_in(reply=reply, actor=Actor.from_request(request))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("home")
    messages.success(
        request,
        f"Recorded as an adverse event ({event.get_event_type_display().lower()}, "
        f"{event.get_severity_display().lower()}) with the patient's words and the session's "
        "lots: complete it below (the type and severity) once you have seen the patient.",
    )
    return redirect("treatments:adverse_event_edit", pk=event.pk)


class HandledForm(forms.Form):
    note = forms.CharField(
        label="How it was handled",
        max_length=check_ins.NOTE_MAX_LENGTH,
        error_messages={"required": "Say how it was handled."},
    )


@require_permission("clinic.record_clinical")
@require_POST
def check_in_handled(request: HttpRequest, pk: int) -> HttpResponse:
    """Close a "something is wrong" without an adverse event, with a note."""
    reply = _reply_or_404(request, pk)
    form = HandledForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
        return redirect("home")
    try:
        check_ins.mark_check_in_handled(
            reply=reply, note=form.cleaned_data["note"], actor=Actor.from_request(request)
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("home")
    messages.success(request, f"Marked handled: {reply.session.patient.full_name}.")
    return redirect("home")
