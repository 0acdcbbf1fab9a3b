"""The endpoint table: one row per form or JSON endpoint, and the URLs with no input."""

from __future__ import annotations

import io
from datetime import date, timedelta

from django.urls import reverse
from django.utils import timezone

from clinic.actors import Actor
from clinic.models import Location
from consultations import patient_forms, patient_links
from consultations import services as consultation_services
from consultations.booking import online
from consultations.booking import services as booking
from consultations.booking.forms import BookingForm
from consultations.booking.online_forms import DetailsForm, EligibilityForm
from consultations.consultation_forms import AreaForm, AssessmentForm
from consultations.forms import (
    ArchiveForm,
    MedicalHistoryForm,
    NewPatientForm,
    PatientForm,
    PreviousTreatmentForm,
)
from consultations.models import (
    CONSULTATION_AREAS,
    LinkPurpose,
    MedicalHistory,
    Patient,
    PhotographyConsent,
)
from consultations.screening.forms import BodyImageForm, DecisionForm
from consultations.screening.rules import BODY_IMAGE_QUESTIONS, ONLINE_QUESTIONS
from consultations.views.booking_page import CancelForm, offered_slots
from consultations.views.online_booking import eligibility_pass, hold_reference
from consultations.views.photos import PhotographyConsentForm
from tests.factories import TEST_PASSWORD
from tests.hostile_input.harness import (
    BOOL,
    CHOICE,
    DATE,
    DATETIME,
    EMAIL,
    ID,
    IGNORED,
    JSON,
    LOOKUP,
    MULTI,
    NUMBER,
    PAGE,
    PHONE,
    PRESENCE,
    REDIRECT,
    TEXT,
    TEXT_KIND,
    TOKEN,
    Endpoint,
    Field,
    form_fields,
)
from tests.hostile_input.world import (
    World,
    current_code,
    jpeg_bytes,
)
from tests.recipes import LOCAL_LIDOCAINE_FORM, consent_form, photography_consent
from treatments.models import LotRecall, TreatmentPlan
from treatments.outcome_forms import AdverseEventForm, OutcomeForm
from treatments.services import check_ins as check_in_services
from treatments.services import recalls as recall_services
from treatments.services.check_ins import CHECK_IN_SIGNS
from treatments.session_forms import (
    AddendumForm,
    PlacementForm,
    SessionDetailsForm,
    WithdrawalForm,
)
from treatments.stock_forms import (
    LotStatusForm,
    LotTraceForm,
    RecallCloseForm,
    RecallContactForm,
    RecallNoticeForm,
    RecallOpenForm,
    ReceiveLotForm,
)
from treatments.views.check_ins import CheckInForm, HandledForm


def world_adverse_event(world: World):
    """The adverse event the world's check-in became (one click), to be completed."""
    reply = world.check_in_reply
    reply.refresh_from_db()
    if reply.adverse_event_id is None:
        return check_in_services.report_from_check_in(
            reply=reply, actor=Actor.system(user=world.doctor_user)
        )
    return reply.adverse_event


def link_path(issued) -> str:
    return reverse("consultations:patient_link", args=[issued.token])


def first_free_time(world: World) -> str:
    """The first time the booking page offers to move the consultation to."""
    return offered_slots(world.consultation_appointment)[0].starts_at.isoformat()


def world_recall_contacted(world: World) -> LotRecall:
    """The world's open recall with every patient on its list contacted: ready to close."""
    recall = world_recall(world)
    contacted = set(recall.contacts.values_list("patient_id", flat=True))
    for listed in recall_services.recall_patients(recall):
        if listed.patient_id not in contacted:
            recall_services.record_contact(
                recall=recall,
                patient=Patient.objects.get(pk=listed.patient_id),
                method="phone",
                outcome="Spoke to the patient",
                actor=Actor.system(),
            )
    return recall


def cancelled_today(world: World):
    """The world's consultation appointment, cancelled today (so the desk may undo it)."""
    appointment = world.consultation_appointment
    appointment.refresh_from_db()
    if appointment.status == "booked":
        booking.set_appointment_status(
            appointment=appointment, status="cancelled", reason="Ill", actor=Actor.system()
        )
    return appointment


def world_recall(world: World) -> LotRecall:
    """The world's lot, recalled (the valid data of the recall forms needs an open recall)."""
    recall = LotRecall.objects.filter(lot=world.lot, closed_at__isnull=True).first()
    if recall is None:
        recall = recall_services.open_recall(
            lot=world.lot,
            reason="Field safety notice FSN-12",
            announced_on=timezone.localdate(timezone=world.location.zone),
            actor=Actor.system(),
        )
    return recall


def teaching_consented(world: World) -> World:
    """The world, its patient having agreed to teaching photos (so a release can succeed)."""
    if not consultation_services.photo_use_consented(world.patient, "teaching"):
        photography_consent(world.patient, None, use="teaching")
    return world


def reachable(world: World) -> World:
    """The world, its patient having chosen email (so a link can be sent)."""
    if not world.patient.contact_by_email:
        world.patient.contact_by_email = True
        world.patient.save(update_fields=["contact_by_email"])
    return world


def day(world: World, days: int, hour: int = 10, minute: int = 0) -> str:
    local = timezone.localdate(timezone=world.location.zone) + timedelta(days=days)
    return f"{local.isoformat()}T{hour:02d}:{minute:02d}"


def today(world: World, days: int = 0) -> str:
    return (timezone.localdate(timezone=world.location.zone) + timedelta(days=days)).isoformat()


# -- online booking (the public page) ----------------------------------------------------------

ONLINE_DETAILS = {
    "first_name": "Imogen",
    "last_name": "Okafor-Hale",
    "date_of_birth": "1984-06-02",
    "sex": "female",
    "email": "imogen.okafor@mail.example",
    "phone": "07911 123456",
    "contact_by_email": "on",
    "website": "",
}


def online_booking_on(w: World):
    """The world's location, taking bookings online."""
    # Written each time: the world may outlive a rolled-back test.
    Location.objects.filter(pk=w.location.pk).update(online_booking=True)
    w.location.online_booking = True
    return w.location


def online_url(name: str):
    return lambda w: reverse(f"online_booking:{name}", args=[online_booking_on(w).pk])


def online_slot(w: World):
    return booking.next_free_slots(
        appointment_type=w.consultation_type, location=online_booking_on(w), limit=1
    )[0]


def online_hold(w: World):
    slot = online_slot(w)
    return booking.hold_slot(
        location=w.location,
        appointment_type=w.consultation_type,
        practitioner=slot.practitioner,
        starts_at=slot.starts_at,
        actor=Actor(user=None, ip_address="203.0.113.9"),
    )


def online_details_url(w: World) -> str:
    return reverse("online_booking:details", args=[w.location.pk, hold_reference(online_hold(w))])


def online_request_url(w: World) -> str:
    """An online booking whose email is the world's patient's: waiting for the desk."""
    details = {
        **ONLINE_DETAILS,
        "date_of_birth": date(1984, 6, 2),
        "email": w.patient.email or "imogen.okafor@mail.example",
        "phone": "",
    }
    outcome = online.submit_online_booking(
        hold=online_hold(w), details=details, actor=Actor(user=None)
    )
    assert outcome.request is not None, "the world's patient should be a possible match"
    return reverse("consultations:online_request", args=[outcome.request.pk])


def online_hold_valid(w: World) -> dict:
    slot = online_slot(w)
    return {
        "go": eligibility_pass(w.location),
        "appointment_type": str(w.consultation_type.pk),
        "practitioner": str(slot.practitioner.pk),
        "starts_at": slot.starts_at.isoformat(),
        "website": "",
    }


def patient_valid(w: World, **extra) -> dict:
    return {
        "first_name": "Ada",
        "last_name": "Byron-King",
        "preferred_name": "",
        "date_of_birth": "1980-04-05",
        "sex": "female",
        "phone": "020 7946 0123",
        "email": "ada@mail.example",
        "address": "1 Lane\nLondon",
        "emergency_contact_name": "",
        "emergency_contact_relation": "",
        "emergency_contact_phone": "",
        "family_doctor": "",
        "preferred_location": str(w.location.pk),
        "contact_by_email": "on",
        **extra,
    }


def form_sent(response) -> bool:
    """A patient's form, sent: the thank-you page (the link is used up, so no redirect)."""
    return response.status_code == 200 and b'data-testid="form-sent"' in response.content


def reachable_by_email(w: World) -> Patient:
    """The world's patient, having chosen email (so the forms can be sent)."""
    Patient.objects.filter(pk=w.patient.pk).update(contact_by_email=True)
    return w.patient


def history_from_link(w: World) -> MedicalHistory:
    """A history the world's patient sent from a link, waiting for review."""
    desk = Actor(user=w.frontdesk)
    issued = patient_links.issue_link(
        patient=w.patient, purpose=LinkPurpose.MEDICAL_HISTORY, location=w.location, actor=desk
    )
    return patient_forms.submit_history_from_link(
        link=issued.link, answers={"notes": "From home"}, actor=Actor(user=None)
    )


def intake_valid(w: World) -> dict:
    data = {"diabetes": "none", "smoking": "never", "notes": "Nothing else"}
    data.update(
        {
            "treatments-TOTAL_FORMS": "1",
            "treatments-INITIAL_FORMS": "0",
            "treatments-MIN_NUM_FORMS": "0",
            "treatments-MAX_NUM_FORMS": "30",
            "treatments-0-kind": "toxin",
            "treatments-0-treated_on": today(w, -200),
            "treatments-0-area": "brow",
            "treatments-0-details": "Forehead lines",
        }
    )
    return data


def intake_fields(w: World) -> list[Field]:
    row = PreviousTreatmentForm(prefix="treatments-0")
    # Django reads TOTAL_FORMS (a negative count is no rows) and ignores the others' values.
    management = [
        Field("treatments-TOTAL_FORMS", "count"),
        *[
            Field(f"treatments-{name}", IGNORED, required=False)
            for name in ("INITIAL_FORMS", "MIN_NUM_FORMS", "MAX_NUM_FORMS")
        ],
    ]
    # The formset's row is optional as a whole: a field missing from it is an empty row's.
    row_fields = [
        Field(f.name, f.kind, required=False, max_length=f.max_length) for f in form_fields(row)
    ]
    return form_fields(MedicalHistoryForm()) + management + row_fields


def consultation_valid(w: World) -> dict:
    data = {
        "expectations": "A fresher jawline",
        "wanted_by": "",
        "fitzpatrick": "3",
        "glogau": "2",
        "skin_thickness": "normal",
        "skin_quality": "Good",
        "asymmetry_notes": "",
        "baseline_photos": [str(w.photo.pk)],
    }
    for area in CONSULTATION_AREAS:
        data[f"area-{area}-concern"] = "Jowls" if area == "jawline" else ""
        data[f"area-{area}-goal"] = "Lift" if area == "jawline" else ""
        data[f"area-{area}-laxity"] = "2" if area == "jawline" else ""
    return data


def consultation_fields(w: World) -> list[Field]:
    assessment = AssessmentForm(patient=w.patient, today=timezone.localdate())
    area = AreaForm(area="jawline", area_label="Jawline")
    return form_fields(assessment) + form_fields(area)


def completion_valid(w: World) -> dict:
    data = {
        **LOCAL_LIDOCAINE_FORM,
        "anaesthetic_agent": "Lidocaine 1% with adrenaline",
        "anaesthetic_volume_ml": "4.5",
        "immediate_outcome": "Good lift",
        "complications": "",
    }
    for vector in w.open_session.plan.vectors.all():
        data[f"vector-{vector.pk}-lot"] = str(w.lot.pk)
        data[f"vector-{vector.pk}-count"] = str(vector.count)
        data[f"vector-{vector.pk}-deviation"] = ""
    return data


def completion_fields(w: World) -> list[Field]:
    vector = w.open_session.plan.vectors.first()
    placement = PlacementForm(vector=vector, number=1)
    return form_fields(placement, lot=ID) + form_fields(
        SessionDetailsForm(),
        anaesthetic_volume_ml=NUMBER,
        anaesthetic_concentration_percent=NUMBER,
        patient_weight_kg=NUMBER,
    )


def vector_payloads(plan: TreatmentPlan) -> list[dict]:
    return [
        {
            "area": v.area,
            "side": v.side,
            "product": v.product_id,
            "count": v.count,
            "view": v.view,
            "entry": [v.entry_x, v.entry_y],
            "end": [v.end_x, v.end_y],
            "depth": v.depth,
            "notes": v.notes,
        }
        for v in plan.vectors.order_by("position", "pk")
    ]


def plan_save_valid(w: World) -> dict:
    plan = TreatmentPlan.objects.get(pk=w.draft_plan.pk)
    return {
        "revision": plan.revision,
        "vectors": vector_payloads(plan),
        "notes": "Lift the jowls",
        "anaesthesia": "topical",
    }


# (path into the JSON body, kind, required)
PLAN_SAVE_FIELDS = [
    (("revision",), NUMBER, True),
    (("vectors",), "list", True),
    (("notes",), TEXT_KIND, False),
    (("anaesthesia",), CHOICE, False),
    (("vectors", 0), "object", False),  # leaving one out is a smaller plan
    (("vectors", 0, "area"), CHOICE, True),
    (("vectors", 0, "side"), CHOICE, True),
    (("vectors", 0, "product"), ID, True),
    (("vectors", 0, "count"), NUMBER, True),
    (("vectors", 0, "view"), CHOICE, True),
    (("vectors", 0, "entry"), "point", True),
    (("vectors", 0, "end"), "point", True),
    (("vectors", 0, "depth"), CHOICE, True),
    (("vectors", 0, "notes"), TEXT_KIND, False),
]
CALIBRATE_FIELDS = [
    (("photo",), ID, True),
    (("left_pupil",), "point", True),
    (("right_pupil",), "point", True),
]
MOVE_FIELDS = [
    (("starts_at",), DATETIME, True),
    (("practitioner",), "optional-id", False),
    (("room",), "optional-id", False),
]


def post_only(name: str, role: str, url, valid=lambda w: {}, **options) -> Endpoint:
    return Endpoint(name, "POST", role, "form", REDIRECT, url, valid, **options)


def day_check_valid(w: World) -> dict:
    """The treatment-day check with everything confirmed (the world has no baseline-photo
    refusal to record: its patient has a baseline photo)."""
    latest = w.patient.medical_histories.order_by("-version").first()
    return {
        "plan": str(w.accepted_plan.pk),
        "history_version": str(latest.version if latest else 1),
        "identity_confirmed": "on",
        "allergies_confirmed": "on",
        "history_confirmed": "on",
        "photo_refusal_reason": "",
        "lots": [str(w.lot.pk)],
    }


def day_check_fields(w: World) -> list[Field]:
    return [
        Field("plan", ID, required=False),
        Field("history_version", NUMBER),
        # Unticked is a clear refusal from the service, not a form error: "bool" is lenient.
        Field("identity_confirmed", BOOL, required=False),
        Field("allergies_confirmed", BOOL, required=False),
        Field("history_confirmed", BOOL, required=False),
        Field("photo_refusal_reason", TEXT_KIND, required=False, max_length=300),
        Field("lots", MULTI),
    ]


ENDPOINTS: list[Endpoint] = [
    Endpoint(
        "choose_location",
        "POST",
        "frontdesk",
        "form",
        TEXT,
        lambda w: reverse("choose_location"),
        lambda w: {"location": str(w.location.pk), "next": "/patients/"},
        lambda w: [Field("location", ID), Field("next", IGNORED, required=False)],
        writes=False,
    ),
    Endpoint(
        "consultations:patient_create",
        "POST",
        "frontdesk",
        "form",
        PAGE,
        lambda w: reverse("consultations:patient_create"),
        patient_valid,
        lambda w: form_fields(NewPatientForm(location=w.location)),
    ),
    Endpoint(
        "consultations:patient_edit",
        "POST",
        "frontdesk",
        "form",
        PAGE,
        lambda w: reverse("consultations:patient_edit", args=[w.patient.pk]),
        lambda w: patient_valid(w, first_name="Marguerite", last_name="Duras"),
        lambda w: form_fields(PatientForm(location=w.location, instance=w.patient)),
    ),
    post_only(
        "consultations:patient_archive",
        "manager",
        lambda w: reverse("consultations:patient_archive", args=[w.patient.pk]),
        lambda w: {"reason": "Moved away"},
        fields=lambda w: form_fields(ArchiveForm()),
    ),
    post_only(
        "consultations:patient_restore",
        "manager",
        lambda w: reverse("consultations:patient_restore", args=[w.patient.pk]),
        writes=False,  # restoring a record that is not archived changes nothing
    ),
    Endpoint(
        "consultations:intake_form",
        "POST",
        "frontdesk",
        "form",
        PAGE,
        lambda w: reverse("consultations:intake_form", args=[w.patient.pk]),
        intake_valid,
        intake_fields,
    ),
    # The patient's forms, posted to the one public address their link opens.
    Endpoint(
        "consultations:patient_link medical-history",
        "POST",
        "anonymous",
        "form",
        PAGE,
        lambda w: reverse("consultations:patient_link", args=[w.patient_link.token]),
        intake_valid,
        intake_fields,
        success=form_sent,
    ),
    Endpoint(
        "consultations:patient_link body-image",
        "POST",
        "anonymous",
        "form",
        PAGE,
        lambda w: reverse("consultations:patient_link", args=[w.body_image_link.token]),
        lambda w: {
            key: ("no" if kind == "yesno" else "1") for key, _q, kind in BODY_IMAGE_QUESTIONS
        },
        lambda w: form_fields(BodyImageForm()),
        success=form_sent,
    ),
    post_only(
        "consultations:send_visit_forms",
        "frontdesk",
        lambda w: reverse("consultations:send_visit_forms", args=[reachable_by_email(w).pk]),
        lambda w: {"appointment": str(w.consultation_appointment.pk), "next": ""},
        fields=lambda w: [
            Field("appointment", ID, required=False),
            Field("next", IGNORED, required=False),
        ],
    ),
    post_only(
        "consultations:history_review",
        "practitioner",
        lambda w: reverse("consultations:history_review", args=[history_from_link(w).pk]),
        lambda w: {"next": ""},
        fields=lambda w: [Field("next", IGNORED, required=False)],
    ),
    Endpoint(
        "consultations:photo_upload",
        "POST",
        "practitioner",
        "multipart",
        PAGE,
        lambda w: reverse("consultations:photo_upload", args=[w.patient.pk]),
        lambda w: {
            "files": io.BytesIO(jpeg_bytes()),
            "view": "frontal",
            "stage": "2_weeks",
            "taken_on": today(w),
        },
        lambda w: [Field("view", CHOICE), Field("stage", CHOICE), Field("taken_on", DATE)],
    ),
    Endpoint(
        "consultations:appointment_book",
        "POST",
        "frontdesk",
        "form",
        PAGE,
        lambda w: reverse("consultations:appointment_book"),
        lambda w: {
            "patient": w.patient.record_number,
            "practitioner": str(w.doctor.pk),
            "appointment_type": str(w.consultation_type.pk),
            "starts_at": day(w, 6),
            "room": "",
            "notes": "First visit",
        },
        lambda w: [
            *form_fields(BookingForm(location=w.location), patient=LOOKUP),
            Field("slot", IGNORED, required=False),
        ],
    ),
    Endpoint(
        "consultations:appointment_move",
        "POST",
        "frontdesk",
        "json",
        JSON,
        lambda w: reverse("consultations:appointment_move", args=[w.consultation_appointment.pk]),
        lambda w: {"starts_at": day(w, 6, 12), "practitioner": w.doctor.pk, "room": None},
        json_fields=lambda w: MOVE_FIELDS,
    ),
    Endpoint(
        "consultations:appointment_status",
        "POST",
        "frontdesk",
        "form",
        PAGE,
        lambda w: reverse("consultations:appointment_status", args=[w.consultation_appointment.pk]),
        lambda w: {"status": "cancelled", "reason": "The patient asked", "next": ""},
        lambda w: [
            Field("status", CHOICE),
            # The appointment keeps at most 200 characters of it (Appointment.cancel_reason).
            Field("reason", TEXT_KIND, max_length=200),
            Field("next", IGNORED, required=False),
        ],
    ),
    Endpoint(
        "consultations:appointment_undo",
        "POST",
        "frontdesk",
        "form",
        PAGE,
        lambda w: reverse("consultations:appointment_undo", args=[cancelled_today(w).pk]),
        lambda w: {"undo_reason": "Cancelled the wrong patient"},
        # The status change keeps at most 200 characters: "Undone: " and the reason.
        lambda w: [Field("undo_reason", TEXT_KIND, max_length=190)],
    ),
    Endpoint(
        "consultations:appointment_reschedule",
        "POST",
        "frontdesk",
        "form",
        PAGE,
        lambda w: reverse(
            "consultations:appointment_reschedule", args=[w.consultation_appointment.pk]
        ),
        lambda w: {"starts_at": day(w, 6, 15), "practitioner": str(w.doctor.pk)},
        lambda w: [Field("starts_at", DATETIME), Field("practitioner", ID, required=False)],
    ),
    Endpoint(
        "consultations:calendar_feed_settings",
        "POST",
        "practitioner",
        "form",
        TEXT,
        lambda w: reverse("consultations:calendar_feed_settings"),
        lambda w: {"revoke": "1"},
        lambda w: [Field("revoke", PRESENCE)],
    ),
    post_only(
        "consultations:patient_link_revoke",
        "frontdesk",
        lambda w: reverse("consultations:patient_link_revoke", args=[w.patient_link.link.pk]),
    ),
    post_only(
        "consultations:consultation_start",
        "practitioner",
        lambda w: reverse("consultations:consultation_start", args=[w.patient.pk]),
    ),
    post_only(
        "consultations:consultation_for_appointment",
        "practitioner",
        lambda w: reverse(
            "consultations:consultation_for_appointment", args=[w.consultation_appointment.pk]
        ),
    ),
    Endpoint(
        "consultations:consultation_detail",
        "POST",
        "practitioner",
        "form",
        PAGE,
        lambda w: reverse("consultations:consultation_detail", args=[w.consultation.pk]),
        consultation_valid,
        consultation_fields,
    ),
    Endpoint(
        "consultations:screening_new",
        "POST",
        "practitioner",
        "form",
        PAGE,
        lambda w: reverse("consultations:screening_new", args=[w.consultation.pk]),
        lambda w: {
            "concerned": "no",
            "preoccupied": "no",
            "distress": "1",
            "social": "1",
            "work": "1",
            "avoidance": "1",
            "interference": "no",
        },
        lambda w: form_fields(BodyImageForm()),
    ),
    Endpoint(
        "consultations:screening_decide",
        "POST",
        "practitioner",
        "form",
        PAGE,
        lambda w: reverse("consultations:screening_decide", args=[w.screening.pk]),
        lambda w: {"decision": "accepted", "justification": ""},
        lambda w: form_fields(DecisionForm()),
    ),
    post_only(
        "treatments:plan_list",
        "practitioner",
        lambda w: reverse("treatments:plan_list", args=[w.patient.pk]),
        baseline="any",  # the undecided screening closes the gate: refused with a message
    ),
    Endpoint(
        "treatments:plan_save",
        "POST",
        "practitioner",
        "json",
        JSON,
        lambda w: reverse("treatments:plan_save", args=[w.draft_plan.pk]),
        plan_save_valid,
        json_fields=lambda w: PLAN_SAVE_FIELDS,
    ),
    post_only(
        "treatments:plan_status",
        "practitioner",
        lambda w: reverse("treatments:plan_status", args=[w.draft_plan.pk]),
        lambda w: {"status": "proposed"},
        fields=lambda w: [Field("status", CHOICE)],
    ),
    post_only(
        "treatments:consent_reading_send",
        "practitioner",
        lambda w: reverse("treatments:consent_reading_send", args=[reachable(w).accepted_plan.pk]),
    ),
    # The patient's "I have read this to the end": the button is the whole answer, so
    # whatever else comes with the POST records the reading and nothing more.
    post_only(
        "consultations:patient_link (consent reading: read to the end)",
        "anonymous",
        lambda w: reverse("consultations:patient_link", args=[w.reading_link.token]),
        lambda w: {"read_to_end": "yes"},
        fields=lambda w: [Field("read_to_end", PRESENCE, required=False)],
    ),
    post_only(
        "treatments:plan_revise",
        "practitioner",
        lambda w: reverse("treatments:plan_revise", args=[w.accepted_plan.pk]),
        writes=False,  # the series' draft is already open: continuing it changes nothing
    ),
    Endpoint(
        "treatments:plan_calibrate",
        "POST",
        "practitioner",
        "json",
        JSON,
        lambda w: reverse("treatments:plan_calibrate", args=[w.draft_plan.pk]),
        lambda w: {"photo": w.photo.pk, "left_pupil": [0.4, 0.45], "right_pupil": [0.6, 0.45]},
        json_fields=lambda w: CALIBRATE_FIELDS,
    ),
    Endpoint(
        "treatments:receive_lot",
        "POST",
        "manager",
        "form",
        PAGE,
        lambda w: reverse("treatments:receive_lot"),
        lambda w: {
            "product": str(w.cog.pk),
            "lot_number": "NEW-7",
            "expires_on": today(w, 200),
            "quantity": "5",
        },
        lambda w: form_fields(ReceiveLotForm(location=w.location, today=timezone.localdate())),
    ),
    Endpoint(
        "treatments:lot_status",
        "POST",
        "manager",
        "form",
        PAGE,
        lambda w: reverse("treatments:lot_status", args=[w.lot.pk]),
        lambda w: {"status": "quarantined", "reason": "Box found damp"},
        lambda w: form_fields(LotStatusForm()),
    ),
    Endpoint(
        "treatments:recall_open",
        "POST",
        "manager",
        "form",
        PAGE,
        lambda w: reverse("treatments:recall_open", args=[w.lot.pk]),
        lambda w: {"reason": "Field safety notice FSN-12", "announced_on": today(w)},
        lambda w: form_fields(RecallOpenForm()),
    ),
    Endpoint(
        "treatments:recall_contact",
        "POST",
        "manager",
        "form",
        PAGE,
        lambda w: reverse("treatments:recall_contact", args=[world_recall(w).pk]),
        lambda w: {"patient": str(w.patient.pk), "method": "phone", "outcome": "Left a message"},
        lambda w: form_fields(RecallContactForm(patients=[(w.patient.pk, "")])),
    ),
    Endpoint(
        "treatments:recall_notify",
        "POST",
        "manager",
        "form",
        PAGE,
        lambda w: reverse("treatments:recall_notify", args=[world_recall(w).pk]),
        lambda w: {"subject": "About lot {lot}", "body": "Dear {patient}, please call us."},
        lambda w: form_fields(RecallNoticeForm()),
    ),
    Endpoint(
        "treatments:recall_close",
        "POST",
        "manager",
        "form",
        PAGE,
        lambda w: reverse("treatments:recall_close", args=[world_recall_contacted(w).pk]),
        lambda w: {"note": "Remaining threads returned to the manufacturer"},
        lambda w: form_fields(RecallCloseForm()),
    ),
    Endpoint(
        "consultations:photography_consent_record",
        "POST",
        "practitioner",
        "form",
        PAGE,
        lambda w: reverse("consultations:photography_consent_record", args=[w.patient.pk]),
        lambda w: {"use": "teaching", "granted": "yes", "form": "verbal", "words": "Yes, fine."},
        lambda w: form_fields(PhotographyConsentForm()),
    ),
    post_only(
        "consultations:photography_consent_withdraw",
        "practitioner",
        lambda w: reverse(
            "consultations:photography_consent_withdraw",
            args=[PhotographyConsent.objects.filter(patient=w.patient).latest("pk").pk],
        ),
        lambda w: {"reason": "She changed her mind"},
        fields=lambda w: [Field("reason", TEXT)],
    ),
    post_only(
        "consultations:photo_release",
        "practitioner",
        lambda w: reverse("consultations:photo_release", args=[teaching_consented(w).photo.pk]),
        lambda w: {"use": "teaching"},
        fields=lambda w: [Field("use", CHOICE)],
    ),
    Endpoint(
        "treatments:consent_sign",
        "POST",
        "practitioner",
        "form",
        PAGE,
        lambda w: reverse("treatments:consent_sign", args=[w.accepted_plan.pk]),
        lambda w: consent_form(
            {"template": w.template}, TreatmentPlan.objects.get(pk=w.accepted_plan.pk)
        ),
        lambda w: [
            Field("template", IGNORED, required=False),
            Field("text_sha256", TOKEN),
            Field("risks", MULTI),
            Field("photo_clinical", CHOICE),
            Field("photo_teaching", CHOICE),
            Field("photo_marketing", CHOICE),
            Field("patient_signature", TOKEN),
            Field("practitioner_signature", TOKEN),
        ],
    ),
    Endpoint(
        "treatments:consent_verify_form",
        "GET",
        "practitioner",
        "query",
        PAGE,
        lambda w: reverse("treatments:consent_verify_form"),
        lambda w: {"fingerprint": w.consent.fingerprint},
        lambda w: [Field("fingerprint", TOKEN, required=False)],
    ),
    Endpoint(
        "treatments:consent_withdraw",
        "POST",
        "practitioner",
        "form",
        PAGE,
        lambda w: reverse("treatments:consent_withdraw", args=[w.consent.pk]),
        lambda w: {"reason": "She changed her mind"},
        lambda w: form_fields(WithdrawalForm()),
    ),
    Endpoint(
        "treatments:session_start",
        "POST",
        "practitioner",
        "form",
        PAGE,
        lambda w: reverse("treatments:session_start", args=[w.treatment_appointment.pk]),
        day_check_valid,
        day_check_fields,
    ),
    Endpoint(
        "treatments:session_complete",
        "POST",
        "practitioner",
        "form",
        PAGE,
        lambda w: reverse("treatments:session_complete", args=[w.open_session.pk]),
        completion_valid,
        completion_fields,
    ),
    Endpoint(
        "treatments:session_addendum",
        "POST",
        "practitioner",
        "form",
        PAGE,
        lambda w: reverse("treatments:session_addendum", args=[w.done_session.pk]),
        lambda w: {"text": "The left vector was 5 mm lower than drawn."},
        lambda w: form_fields(AddendumForm()),
    ),
    Endpoint(
        "treatments:outcome_new",
        "POST",
        "practitioner",
        "form",
        PAGE,
        lambda w: reverse("treatments:outcome_new", args=[w.done_session.pk]),
        lambda w: {
            "gais_practitioner": "2",
            "gais_patient": "2",
            "satisfaction": "8",
            "notes": "Pleased",
            "appointment": "",
        },
        lambda w: form_fields(
            OutcomeForm(session=w.done_session, user=w.done_session.practitioner.user)
        ),
    ),
    Endpoint(
        "treatments:adverse_event_new",
        "POST",
        "practitioner",
        "form",
        PAGE,
        lambda w: reverse("treatments:adverse_event_new", args=[w.done_session.pk]),
        lambda w: {
            "event_type": "bruising",
            "severity": "mild",
            "onset_on": today(w),
            "lots": [str(w.lot.pk)],
            "management": "Cold compress",
            "resolved_on": "",
            "description": "A small bruise at the left entry point",
        },
        lambda w: form_fields(AdverseEventForm(session=w.done_session)),
    ),
    # Online booking: the public page (anonymous) and the desk's decision.
    Endpoint(
        "online_booking:start",
        "POST",
        "anonymous",
        "form",
        PAGE,
        online_url("start"),
        lambda w: {key: "no" for key, _question, _rules in ONLINE_QUESTIONS},
        lambda w: form_fields(EligibilityForm()),
        writes=False,  # the answers are kept nowhere; a pass is handed on
    ),
    Endpoint(
        "online_booking:times",
        "GET",
        "anonymous",
        "query",
        PAGE,
        online_url("times"),
        lambda w: {
            "go": eligibility_pass(online_booking_on(w)),
            "type": str(w.consultation_type.pk),
        },
        lambda w: [Field("go", TOKEN), Field("type", ID, required=False)],
    ),
    Endpoint(
        "online_booking:hold",
        "POST",
        "anonymous",
        "form",
        PAGE,
        online_url("hold"),
        online_hold_valid,
        lambda w: [
            Field("go", TOKEN),
            Field("appointment_type", ID),
            Field("practitioner", ID),
            Field("starts_at", DATETIME, max_length=40),
            Field("website", TEXT_KIND, required=False, max_length=200),
        ],
    ),
    Endpoint(
        "online_booking:details",
        "POST",
        "anonymous",
        "form",
        PAGE,
        online_details_url,
        lambda w: dict(ONLINE_DETAILS),
        lambda w: form_fields(DetailsForm(location=w.location), phone=PHONE),
    ),
    Endpoint(
        "consultations:online_request",
        "POST",
        "frontdesk",
        "form",
        PAGE,
        online_request_url,
        lambda w: {"decision": "link", "patient": str(w.patient.pk)},
        lambda w: [Field("decision", CHOICE), Field("patient", ID, required=False)],
    ),
    Endpoint(
        "treatments:adverse_event_edit",
        "POST",
        "practitioner",
        "form",
        PAGE,
        lambda w: reverse("treatments:adverse_event_edit", args=[world_adverse_event(w).pk]),
        lambda w: {
            "event_type": "infection",
            "severity": "moderate",
            "onset_on": today(w),
            "lots": [str(w.lot.pk)],
            "management": "Oral antibiotics",
            "resolved_on": "",
            "description": "A hot cheek since this morning",
        },
        lambda w: form_fields(AdverseEventForm(session=w.done_session)),
    ),
    # A "something is wrong" from a check-in: one click to an adverse event, or closed with a note.
    Endpoint(
        "treatments:check_in_adverse_event",
        "POST",
        "practitioner",
        "form",
        REDIRECT,
        lambda w: reverse("treatments:check_in_adverse_event", args=[w.check_in_reply.pk]),
        lambda w: {},
    ),
    Endpoint(
        "treatments:check_in_handled",
        "POST",
        "practitioner",
        "form",
        REDIRECT,
        lambda w: reverse("treatments:check_in_handled", args=[w.check_in_reply.pk]),
        lambda w: {"note": "Phoned her: a little swelling, as expected"},
        lambda w: form_fields(HandledForm()),
    ),
    # The patient's pages behind the one link URL (the token is the key): the booking
    # page's three answers and the check-in.
    Endpoint(
        "consultations:patient_link booking-confirm",
        "POST",
        "anonymous",
        "form",
        PAGE,
        lambda w: link_path(w.booking_link),
        lambda w: {"answer": "confirm"},
        lambda w: [Field("answer", CHOICE)],
    ),
    Endpoint(
        "consultations:patient_link booking-cancel",
        "POST",
        "anonymous",
        "form",
        PAGE,
        lambda w: link_path(w.booking_link),
        lambda w: {"answer": "cancel", "reason": "A family wedding"},
        lambda w: [Field("answer", CHOICE), *form_fields(CancelForm())],
    ),
    Endpoint(
        "consultations:patient_link booking-move",
        "POST",
        "anonymous",
        "form",
        PAGE,
        lambda w: link_path(w.booking_link),
        lambda w: {"answer": "move", "starts_at": first_free_time(w)},
        lambda w: [Field("answer", CHOICE), Field("starts_at", CHOICE)],
    ),
    Endpoint(
        "consultations:patient_link check-in",
        "POST",
        "anonymous",
        "form",
        PAGE,
        lambda w: link_path(w.check_in_link),
        lambda w: {
            "answer": "something_wrong",
            "signs": [CHECK_IN_SIGNS[0]],
            "details": "A hot cheek since this morning",
        },
        lambda w: form_fields(CheckInForm()),
        # The thanks is a page of its own (the link works once), under the emergency advice.
        success=lambda r: r.status_code == 200 and b'data-testid="answered"' in r.content,
    ),
    Endpoint(
        "login",
        "POST",
        "anonymous",
        "form",
        PAGE,
        lambda w: reverse("login"),
        lambda w: {"username": w.frontdesk.username, "password": TEST_PASSWORD},
        lambda w: [
            Field("username", TEXT_KIND, max_length=150),
            Field("password", TEXT_KIND),
        ],
        writes=False,  # last_login is written, but only on success
    ),
    Endpoint(
        "password_reset",
        "POST",
        "anonymous",
        "form",
        PAGE,
        lambda w: reverse("password_reset"),
        lambda w: {"email": w.frontdesk.email},
        lambda w: [Field("email", EMAIL)],
        writes=False,
    ),
    # Privacy rights (managers): a copy of the record, an erasure request.
    Endpoint(
        "records:patient_export",
        "POST",
        "manager",
        "form",
        PAGE,
        lambda w: reverse("records:patient_export", args=[w.patient.pk]),
        lambda w: {"identity_checked": "on"},
        lambda w: [Field("identity_checked", PRESENCE)],
        writes=False,  # a download; only the audit trail records it
        success=lambda r: r.status_code == 200 and r["Content-Type"] == "application/zip",
    ),
    Endpoint(
        "records:patient_erasure",
        "POST",
        "manager",
        "form",
        PAGE,
        lambda w: reverse("records:patient_erasure", args=[w.patient.pk]),
        lambda w: {"identity_checked": "on"},
        lambda w: [Field("identity_checked", PRESENCE)],
        success=lambda r: (
            r.status_code == 200 and any(t.name.endswith("erasure_done.html") for t in r.templates)
        ),
    ),
    # Staff and two-factor sign-in.
    Endpoint(
        "two_factor_setup",
        "POST",
        "enroller",
        "form",
        PAGE,
        lambda w: reverse("two_factor_setup"),
        lambda w: {"code": current_code(w.enroller, confirmed=False), "next": "/patients/"},
        lambda w: [
            Field("code", TOKEN, max_length=16),
            Field("next", IGNORED, required=False),
        ],
    ),
    Endpoint(
        "two_factor_verify",
        "POST",
        "verifier",
        "form",
        PAGE,
        lambda w: reverse("two_factor_verify"),
        lambda w: {"code": current_code(w.verifier, confirmed=True), "next": "/patients/"},
        lambda w: [
            Field("code", TOKEN, max_length=32),
            Field("next", IGNORED, required=False),
        ],
        writes=True,  # the app's device remembers the code used
    ),
    Endpoint(
        "two_factor_backup_codes",
        "POST",
        "backup",
        "form",
        PAGE,
        lambda w: reverse("two_factor_backup_codes"),
        lambda w: {"saved": "on", "next": "/patients/"},
        lambda w: [Field("saved", PRESENCE), Field("next", IGNORED, required=False)],
        writes=False,  # only the session forgets the codes
    ),
    post_only(
        "two_factor_new_backup_codes",
        "frontdesk",
        lambda w: reverse("two_factor_new_backup_codes"),
        baseline="any",  # no authenticator app: refused with a message
    ),
    post_only(
        "staff_reset_two_factor",
        "manager",
        lambda w: reverse("staff_reset_two_factor", args=[w.verifier.staff.pk]),
    ),
    # Search and filter forms (GET): they never change anything, whatever they are sent.
    Endpoint(
        "consultations:patient_list",
        "GET",
        "frontdesk",
        "query",
        PAGE,
        lambda w: reverse("consultations:patient_list"),
        lambda w: {"q": "Duras", "archived": "1"},
        lambda w: [Field("q", TEXT_KIND, required=False), Field("archived", IGNORED, False)],
    ),
    Endpoint(
        "consultations:patient_search",
        "GET",
        "frontdesk",
        "query",
        PAGE,
        lambda w: reverse("consultations:patient_search"),
        lambda w: {"q": "05/04/1980"},
        lambda w: [Field("q", TEXT_KIND, required=False)],
    ),
    Endpoint(
        "consultations:calendar_day",
        "GET",
        "frontdesk",
        "query",
        PAGE,
        lambda w: reverse("consultations:calendar_day"),
        lambda w: {"date": today(w, 1), "by": "room"},
        lambda w: [Field("date", DATE, required=False), Field("by", IGNORED, False)],
    ),
    Endpoint(
        "consultations:calendar_week",
        "GET",
        "frontdesk",
        "query",
        PAGE,
        lambda w: reverse("consultations:calendar_week"),
        lambda w: {"date": today(w, 1), "practitioner": str(w.doctor.pk)},
        lambda w: [Field("date", DATE, required=False), Field("practitioner", ID, False)],
    ),
    Endpoint(
        "consultations:appointment_book (prefill)",
        "GET",
        "frontdesk",
        "query",
        PAGE,
        lambda w: reverse("consultations:appointment_book"),
        lambda w: {
            "practitioner": str(w.doctor.pk),
            "start": day(w, 6),
            "room": str(w.room.pk),
            "patient": str(w.patient.pk),
            "type": str(w.consultation_type.pk),
            "location": str(w.location.pk),
        },
        lambda w: [
            Field(name, IGNORED, required=False)
            for name in ("practitioner", "start", "room", "patient", "type", "location")
        ],
    ),
    Endpoint(
        "consultations:patient_create (booking slot)",
        "GET",
        "frontdesk",
        "query",
        PAGE,
        lambda w: reverse("consultations:patient_create"),
        lambda w: {
            "practitioner": str(w.doctor.pk),
            "start": day(w, 6),
            "room": str(w.room.pk),
            "type": str(w.consultation_type.pk),
            "location": str(w.location.pk),
        },
        lambda w: [
            Field(name, IGNORED, required=False)
            for name in ("practitioner", "start", "room", "type", "location")
        ],
    ),
    Endpoint(
        "consultations:appointment_patient_lookup",
        "GET",
        "frontdesk",
        "query",
        JSON,
        lambda w: reverse("consultations:appointment_patient_lookup"),
        lambda w: {"q": "Duras"},
        lambda w: [Field("q", TEXT_KIND, required=False, max_length=100)],
    ),
    Endpoint(
        "consultations:day_list",
        "GET",
        "frontdesk",
        "query",
        PAGE,
        lambda w: reverse("consultations:day_list"),
        lambda w: {"date": today(w, 2)},
        lambda w: [Field("date", DATE, required=False)],
    ),
    Endpoint(
        "consultations:photo_compare",
        "GET",
        "practitioner",
        "query",
        PAGE,
        lambda w: reverse("consultations:photo_compare", args=[w.patient.pk]),
        lambda w: {"before": str(w.photo.pk)},
        lambda w: [Field("before", ID, required=False), Field("after", ID, required=False)],
    ),
    Endpoint(
        "treatments:lot_trace",
        "GET",
        "manager",
        "query",
        PAGE,
        lambda w: reverse("treatments:lot_trace"),
        lambda w: {"lot": "LOT-A"},
        lambda w: form_fields(LotTraceForm()),
    ),
    Endpoint(
        "audit_trail",
        "GET",
        "manager",
        "query",
        PAGE,
        lambda w: reverse("audit_trail"),
        lambda w: {
            "patient": w.patient.record_number,
            "user": w.doctor_user.username,
            "action": "",
            "date_from": today(w, -7),
            "date_to": today(w),
            "page": "1",
        },
        lambda w: [
            Field("patient", LOOKUP, required=False),
            Field("user", TEXT_KIND, required=False, max_length=150),
            Field("action", CHOICE, required=False),
            Field("date_from", DATE, required=False),
            Field("date_to", DATE, required=False),
            Field("page", IGNORED, required=False),
            Field("format", IGNORED, required=False),
        ],
    ),
    Endpoint(
        "treatments:adverse_event_report",
        "GET",
        "manager",
        "query",
        PAGE,
        lambda w: reverse("treatments:adverse_event_report"),
        lambda w: {"date_from": today(w, -30), "date_to": today(w)},
        lambda w: [Field("date_from", DATE), Field("date_to", DATE)],
    ),
]
ENDPOINTS_BY_NAME = {endpoint.name: endpoint for endpoint in ENDPOINTS}

# URL names with no input to be hostile with (read-only pages, PDFs, files), and those
# covered by another test of this package; an URL name in none of the lists fails
# test_url_coverage.
READ_ONLY_URLS = {
    "home",
    "healthz",
    "admin_login_redirect",
    "consultations:patient_chart",
    "consultations:intake_done",
    "consultations:medical_history_list",
    "consultations:medical_history_detail",
    "consultations:photo_list",
    "consultations:photo_image",
    "consultations:photo_thumbnail",
    "consultations:appointment_detail",
    "consultations:appointment_ics",
    "consultations:calendar_feed",  # test_a_calendar_feed_token_of_any_shape_is_not_found
    # The token's shape: test_a_patient_link_token_of_any_shape_opens_nothing; its forms
    # are in ENDPOINTS.
    "consultations:patient_link",
    # The end of an online booking: its reference is signed (tests/consultations/
    # test_online_booking.py: a tampered reference is not found).
    "online_booking:booked",
    "consultations:screening_detail",
    "consultations:screening_pdf",  # test_printed_documents_show_hostile_text_as_text...
    "treatments:planner",
    "treatments:plan_pdf",
    "treatments:stock_overview",
    "treatments:lot_detail",
    "treatments:recall_detail",
    "treatments:recall_csv",  # test_a_recall_csv_neutralises_formulas
    "treatments:consent_detail",
    "treatments:session_detail",
    "treatments:consent_pdf",
    # test_what_is_not_a_fingerprint_is_said_so_and_never_fails and the forged-fingerprint
    # tests in tests/treatments/test_verification_views.py
    "treatments:consent_verify",
    "treatments:aftercare_pdf",
    "treatments:aftercare_day_pdf",
    "treatments:adverse_event_pdf",  # test_printed_documents: the regulator's report
    "treatments:retreatment_recall",  # no input: the current location's list
    "staff_list",
    "two_factor_settings",
    "keepalive",
}
# Django's own pages: the admin (managers' clinic settings) and the password pages that
# take a one-time token. Outside this suite: the admin's forms are Django's.
NOT_COVERED_PREFIXES = ("admin:",)
NOT_COVERED_URLS = {
    "logout",
    "password_change",
    "password_change_done",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
}
