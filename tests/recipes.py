"""Recipes: the states tests need again and again, made through the public services.

A screened patient, a two-vector plan, an accepted plan, a signed consent, a
started and a completed session, a clinic ready for treatment day. Each recipe
is a thin call to the services the pages call, so when a service's signature
changes it changes here, once. Rows that no service writes (products, appointment
types, working hours) come from tests.factories.

`build_clinic` returns the small clinic most treatment tests start from; `accept`,
`sign` and `start` move it along (requesting the `private_media` fixture first:
signatures are written to a temporary folder).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, resolve, reverse
from django.urls.exceptions import Resolver404
from django.utils import timezone
from django.utils.regex_helper import normalize
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from PIL import Image, ImageDraw

from clinic.actors import Actor
from clinic.models import Role
from consultations import services as consultation_services
from consultations.booking import services as booking
from consultations.models import AppointmentKind, Patient, PatientPhoto
from consultations.screening import rules as screening_rules
from consultations.screening import services as screening_services
from tests.clock import arrive_for
from tests.factories import (
    TEST_PASSWORD,
    AppointmentTypeFactory,
    PatientFactory,
    RoomFactory,
    StaffMemberFactory,
    ThreadProductFactory,
    UserFactory,
    WorkingHoursFactory,
)
from treatments.models import DEFAULT_RISKS, SignedConsent, StockLot, TreatmentPlan
from treatments.services import consent as consent_services
from treatments.services import plans as plan_services
from treatments.services import sessions as session_services
from treatments.services import stock as stock_services
from treatments.services.day_check import DayCheckAnswers

# -- images the pages upload ------------------------------------------------------------------


def signature_png(strokes: int = 3, size=(600, 200)) -> bytes:
    """A signature as the pad draws it: black strokes on a transparent background."""
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    for n in range(strokes):
        draw.line(
            [(40 + n * 60, 150), (120 + n * 80, 40), (200 + n * 70, 160)], fill="black", width=6
        )
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def blank_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (600, 200), (0, 0, 0, 0)).save(out, format="PNG")
    return out.getvalue()


def image_bytes(kind: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (600, 200), "black").save(out, format=kind)
    return out.getvalue()


def data_url(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


# -- people and signing in --------------------------------------------------------------------


def practitioner_at(location, first_name="Ada", last_name="Okafor", hours=(time(9), time(17))):
    """A practitioner working at `location` every day of the week, 09:00–17:00 by default."""
    user = UserFactory(first_name=first_name, last_name=last_name)
    member = StaffMemberFactory(user=user, role=Role.PRACTITIONER, locations=[location])
    for weekday in range(7):
        WorkingHoursFactory(
            staff=member, location=location, weekday=weekday, starts_at=hours[0], ends_at=hours[1]
        )
    return member


def appointment_type(name="Consultation", minutes=30, buffer=0, needs_room=False, **extra):
    return AppointmentTypeFactory(
        name=name,
        kind=extra.pop("kind", AppointmentKind.CONSULTATION),
        duration_minutes=minutes,
        buffer_minutes=buffer,
        needs_room=needs_room,
        colour=extra.pop("colour", "#1f6f8b"),
        **extra,
    )


def local_day(location, days_ahead: int) -> date:
    """The date `days_ahead` days from today at `location`."""
    return timezone.localtime(timezone.now(), location.zone).date() + timedelta(days=days_ahead)


def at(location, day: date, hour: int, minute: int = 0) -> datetime:
    """A wall-clock time at `location` on `day`."""
    return datetime.combine(day, time(hour, minute), tzinfo=location.zone)


def sign_in(client, username: str, next_url: str = ""):
    """The sign-in form, posted with the test password."""
    data = {"username": username, "password": TEST_PASSWORD}
    if next_url:
        data["next"] = next_url
    return client.post(reverse("login"), data)


def sign_in_page(page, username: str, password: str) -> None:
    """The sign-in form, filled in a browser."""
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def main_navigation(page):
    """The top bar, as a person reaches it: below 1200 px it is collapsed, so its menu
    button is pressed first (once) to show the links, the location switcher and Sign out."""
    navigation = page.get_by_role("navigation", name="Main navigation")
    toggle = navigation.get_by_role("button", name="Show navigation")
    if toggle.is_visible() and toggle.get_attribute("aria-expanded") != "true":
        toggle.click()
        page.locator("#main-nav.show").wait_for()
    return navigation


def enrol(user) -> TOTPDevice:
    """An authenticator app the user has already set up."""
    return TOTPDevice.objects.create(user=user, name="Phone", confirmed=True)


def code_for_key(key: bytes, offset_steps: int = 0) -> str:
    totp = TOTP(key)
    totp.time = totp.time + offset_steps * totp.step
    return f"{totp.token():06d}"


def current_code(device: TOTPDevice) -> str:
    return code_for_key(device.bin_key)


def type_code(client, code: str, next_url: str = ""):
    return client.post(reverse("two_factor_verify"), {"code": code, "next": next_url})


def sign_in_with_code(client, user, device: TOTPDevice) -> None:
    sign_in(client, user.get_username())
    assert type_code(client, current_code(device)).status_code == 302
    assert client.get(reverse("home")).status_code == 200


# -- a screened patient -----------------------------------------------------------------------

# Body-image answers that raise nothing: the screening then rests on the history alone.
CALM = {
    "concerned": False,
    "preoccupied": False,
    "distress": 1,
    "social": 1,
    "work": 1,
    "avoidance": 1,
    "interference": False,
}
FORTY_YEARS = timedelta(days=40 * 365)


def screened_patient(
    doctor,
    *,
    patient: Patient | None = None,
    history: dict | None = None,
    details: dict | None = None,
    areas: dict | None = None,
    decision: str | None = "accepted",
    **patient_fields,
) -> Patient:
    """A patient through the screening gate: history, consultation, assessment, screening.

    The practitioner accepts the screening unless `decision` is None (it then stays
    undecided). A new 40-year-old patient unless `patient` is given.
    """
    if patient is None:
        patient_fields.setdefault("date_of_birth", timezone.localdate() - FORTY_YEARS)
        patient = PatientFactory(**patient_fields)
    actor = Actor.system(user=doctor.user)
    consultation_services.submit_medical_history(
        patient=patient, answers=history or {}, actor=actor
    )
    consultation = consultation_services.start_consultation(
        patient=patient, practitioner=doctor, actor=actor
    )
    consultation_services.save_assessment(
        consultation=consultation,
        details=details or {"fitzpatrick": 2, "glogau": 2},
        areas=areas or {"midface": {"concern": "Cheeks", "laxity": 2}},
        actor=actor,
    )
    screening = screening_services.run_screening(
        consultation=consultation, body_image=CALM, actor=actor
    )
    if decision is not None:
        screening_services.decide_screening(screening=screening, decision=decision, actor=actor)
    return patient


# -- stock, plans, consent and sessions -------------------------------------------------------


def receive(
    product, location, lot_number: str | None = None, quantity: int = 10, days: int = 300, by=None
):
    """A lot received into stock, expiring in `days` days (named after itself unless named)."""
    return stock_services.receive_stock(
        product=product,
        location=location,
        lot_number=lot_number or f"{product.pk}-{location.pk}-{days}-{quantity}",
        quantity=quantity,
        expires_on=timezone.localdate() + timedelta(days=days),
        actor=Actor.system(user=by),
    )


def two_vector_plan(*, patient, doctor, location, product):
    """A draft plan: the midface, left and right, 2 threads each."""
    plan = plan_services.create_plan(
        patient=patient,
        practitioner=doctor,
        location=location,
        actor=Actor.system(user=doctor.user),
    )
    vector = {
        "area": "midface",
        "side": "left",
        "product": product.pk,
        "count": 2,
        "view": "front",
        "entry": [0.3, 0.6],
        "end": [0.3, 0.2],
        "depth": "subcutaneous",
        "notes": "",
    }
    return plan_services.save_plan(
        plan=plan,
        revision=1,
        vectors=[vector, {**vector, "side": "right", "entry": [0.7, 0.6], "end": [0.7, 0.2]}],
        actor=Actor.system(user=doctor.user),
    )


def screened_plan(*, patient, doctor, location, product):
    """A two-vector draft plan for `patient`, after a suitable screening accepted."""
    screened_patient(doctor, patient=patient)
    return two_vector_plan(patient=patient, doctor=doctor, location=location, product=product)


def accepted_plan(plan, by):
    return plan_services.set_plan_status(plan=plan, status="accepted", actor=Actor.system(user=by))


def consent_template(by):
    """The thread-lift consent form, published."""
    return consent_services.publish_consent_template(
        code="thread-lift",
        title="Consent to a thread lift",
        body="I, {patient}, agree to {procedure} of the {areas} with {products} by {practitioner}.",
        risks=DEFAULT_RISKS,
        alternatives="No treatment; fillers; energy devices; a surgical facelift.",
        actor=Actor.system(user=by),
    )


PHOTO_CONSENTS = {"clinical": True, "teaching": False, "marketing": False}


def signed_consent(*, plan, template, doctor, **overrides):
    """A consent signed through the service, as the signing page stores it."""
    arguments = {
        "plan": plan,
        "template": template,
        "risks_initialled": list(template.risks),
        "photo_consents": PHOTO_CONSENTS,
        "patient_signature": signature_png(),
        "practitioner_signature": signature_png(2),
        "practitioner": doctor,
        "actor": Actor.system(user=doctor.user),
    }
    return consent_services.sign_consent(**{**arguments, **overrides})


# A local anaesthetic recorded in full (within the maximum dose for the weight): the details a
# session is completed with, as the service takes them and as the completion form posts them.
LOCAL_LIDOCAINE = {
    "anaesthesia": "local",
    "anaesthetic_agent": "Lidocaine 1% with adrenaline",
    "anaesthetic_concentration_percent": Decimal("1"),
    "anaesthetic_volume_ml": Decimal("4.0"),
    "with_adrenaline": True,
    "patient_weight_kg": Decimal("64"),
}
LOCAL_LIDOCAINE_FORM = {
    "anaesthesia": "local",
    "anaesthetic_agent": "Lidocaine 1% with adrenaline",
    "anaesthetic_concentration_percent": "1",
    "anaesthetic_volume_ml": "4.5",
    "with_adrenaline": "yes",
    "patient_weight_kg": "64",
}


def consent_signed_before_sealing(*, plan, template, doctor):
    """A consent as stored before consents were sealed: a plain fingerprint, no seal, no copy."""
    patient_png, practitioner_png = signature_png(), signature_png(2)
    signed_at = timezone.now().replace(microsecond=0)
    text = consent_services.fill_consent_text(template, plan)
    content = consent_services.ConsentContent(
        plan_id=plan.pk,
        plan_version=plan.version,
        patient_id=plan.patient_id,
        template_id=template.pk,
        text=text,
        risks=list(template.risks),
        photos=PHOTO_CONSENTS,
        patient_signature_sha256=hashlib.sha256(patient_png).hexdigest(),
        practitioner_signature_sha256=hashlib.sha256(practitioner_png).hexdigest(),
        practitioner_id=doctor.pk,
        signed_at=signed_at,
        ip_address=None,
        user_agent="",
    )
    consent = SignedConsent(
        plan=plan,
        template=template,
        patient=plan.patient,
        practitioner=doctor,
        rendered_text=text,
        risks_initialled=list(template.risks),
        photo_consents=PHOTO_CONSENTS,
        signed_at=signed_at,
        fingerprint=consent_services.fingerprint_of(content, None),
        recorded_by=doctor.user,
    )
    consent.patient_signature.save("old-patient.png", ContentFile(patient_png), save=False)
    consent.practitioner_signature.save("old-doctor.png", ContentFile(practitioner_png), save=False)
    consent.save()
    return consent


def placements(clinic, session, count=2, **extra) -> list[dict]:
    """The completion form's rows: every vector of the session's plan from the clinic's lot."""
    return [
        {"vector": v.pk, "lot": clinic["lot"].pk, "count": count, **extra}
        for v in session.plan.vectors.all()
    ]


def completed_session(session, *, lot, by, count=None, details=None):
    """A session completed with every vector placed from `lot` (as planned, or `count` each)."""
    return session_services.complete_session(
        session=session,
        placements=[
            {
                "vector": vector.pk,
                "lot": lot.pk,
                "count": vector.count if count is None else count,
                "deviation": "",
            }
            for vector in session.plan.vectors.all()
        ],
        details=details
        if details is not None
        else {
            **LOCAL_LIDOCAINE,
            "immediate_outcome": "Good lift",
            "complications": "",
        },
        actor=Actor.system(user=by),
    )


def book_treatment(*, patient, doctor, location, appointment_type, on: date, hour: int = 10):
    return booking.book_appointment(
        patient=patient,
        practitioner=doctor,
        location=location,
        appointment_type=appointment_type,
        starts_at=datetime.combine(on, time(hour), tzinfo=location.zone),
        actor=Actor.system(user=doctor.user),
    )


# Answers that raise every medical alert (consultations.alerts): two allergies and a blood thinner.
ALERTING_HISTORY = {
    "allergy_local_anaesthetic": True,
    "other_allergies": "Penicillin",
    "anticoagulants": True,
    "anticoagulant_details": "Apixaban",
}


# -- a clinic ready for treatment day ---------------------------------------------------------


def build_clinic(location, practitioner_user, *, history: dict | None = None) -> dict:
    """A practitioner (the conftest's "doctor") working every day, a treatment room, a product
    with a lot in stock, a published consent form, and a patient through screening (with the
    medical-history answers `history`, none by default) with a two-vector draft plan and a
    treatment appointment tomorrow."""
    doctor = practitioner_user.staff
    for weekday in range(7):
        WorkingHoursFactory(
            staff=doctor, location=location, weekday=weekday, starts_at=time(8), ends_at=time(18)
        )
    RoomFactory(location=location, name="Treatment room")
    cog = ThreadProductFactory()
    lot = receive(cog, location, "LOT-A", by=doctor.user)
    treatment = AppointmentTypeFactory(
        name="Thread lift",
        kind="treatment",
        duration_minutes=90,
        buffer_minutes=15,
        needs_room=True,
    )
    AppointmentTypeFactory(name="Review", kind="review", duration_minutes=20, needs_room=False)
    template = consent_template(doctor.user)
    patient = screened_patient(doctor, first_name="Marguerite", last_name="Duras", history=history)
    plan = two_vector_plan(patient=patient, doctor=doctor, location=location, product=cog)
    tomorrow = timezone.localdate(timezone=location.zone) + timedelta(days=1)
    appointment = book_treatment(
        patient=patient, doctor=doctor, location=location, appointment_type=treatment, on=tomorrow
    )
    return {
        "doctor": doctor,
        "user": practitioner_user,
        "lot": lot,
        "cog": cog,
        "template": template,
        "plan": plan,
        "patient": patient,
        "appointment": appointment,
        "treatment": treatment,
        "location": location,
    }


def accept(clinic):
    """The clinic's plan, accepted (and kept as the clinic's plan)."""
    clinic["plan"] = accepted_plan(clinic["plan"], clinic["doctor"].user)
    return clinic["plan"]


def sign(clinic, plan=None, **overrides):
    """The clinic's consent form (or `template=`) signed for `plan` (or the clinic's plan)."""
    overrides.setdefault("template", clinic["template"])
    return signed_consent(plan=plan or clinic["plan"], doctor=clinic["doctor"], **overrides)


def day_check_answers(plan, **overrides) -> DayCheckAnswers:
    """The treatment-day check with everything confirmed: identity, allergies, the latest
    medical history, every precaution, a refusal of photos (used only when none were
    taken) and the first in-date lot of each planned product at the plan's location."""
    today = timezone.localdate(timezone=plan.location.zone)
    lots = []
    for product_id in sorted({v.product_id for v in plan.vectors.all()}):
        lot = (
            StockLot.objects.filter(
                product_id=product_id,
                location_id=plan.location_id,
                expires_on__gte=today,
                quantity_on_hand__gt=0,
            )
            .order_by("expires_on", "pk")
            .first()
        )
        if lot is not None:
            lots.append(lot)
    latest = plan.patient.medical_histories.order_by("-version").first()
    answers = {
        "identity_confirmed": True,
        "allergies_confirmed": True,
        "history_confirmed": True,
        "history_version": latest.version if latest else 0,
        "precautions_acknowledged": frozenset(rule.id for rule in screening_rules.RULES),
        "photo_refusal_reason": "Prefers no photos today",
        "lots": tuple(lots),
    }
    return DayCheckAnswers(**{**answers, **overrides})


def start_session(*, appointment, plan, by, **answers):
    """The treatment-day check passed at the appointment's time (the clock moves there)."""
    arrive_for(appointment)
    return session_services.start_session(
        appointment=appointment,
        plan=plan,
        check=day_check_answers(plan, **answers),
        actor=Actor.system(user=by),
    )


def start(clinic, plan=None, **answers):
    return start_session(
        appointment=clinic["appointment"],
        plan=plan or clinic["plan"],
        by=clinic["doctor"].user,
        **answers,
    )


def consent_form(clinic, plan=None, **overrides) -> dict:
    """What the signing page posts when everything is filled in and both pads are signed."""
    plan = plan or clinic["plan"]
    template = clinic["template"]
    text = consent_services.fill_consent_text(template, plan)
    form = {
        "template": str(template.pk),
        "text_sha256": hashlib.sha256(text.encode()).hexdigest(),
        "risks": list(template.risks),
        "photo_clinical": "yes",
        "photo_teaching": "no",
        "photo_marketing": "no",
        "patient_signature": data_url(signature_png()),
        "practitioner_signature": data_url(signature_png(2)),
    }
    form.update(overrides)
    return {key: value for key, value in form.items() if value is not None}


# -- the planner ------------------------------------------------------------------------------


def vector(product, **fields) -> dict:
    """One vector in the save endpoint's format: the left midface, 2 threads, 47 mm long."""
    return {
        "area": "midface",
        "side": "left",
        "product": product.pk,
        "count": 2,
        "view": "front",
        "entry": [0.62, 0.55],
        "end": [0.76, 0.40],
        "depth": "subcutaneous",
        "notes": "",
        **fields,
    }


def saved_payload(plan: TreatmentPlan) -> list[dict]:
    """The plan's vectors as stored, in the save format."""
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


def save_vectors(plan: TreatmentPlan, vectors: list[dict], by, notes: str | None = None):
    plan.refresh_from_db()
    return plan_services.save_plan(
        plan=plan, revision=plan.revision, vectors=vectors, notes=notes, actor=Actor.system(user=by)
    )


def post_json(client, url: str, body, *, raw: bytes | str | None = None):
    data = raw if raw is not None else json.dumps(body)
    return client.post(url, data=data, content_type="application/json")


def save_url(plan: TreatmentPlan) -> str:
    return reverse("treatments:plan_save", args=[plan.pk])


def photography_consent(patient: Patient, by, *, use: str = "clinical", granted: bool = True):
    """The patient's verbal answer about one use of their photos, recorded by `by`."""
    return consultation_services.record_photography_consent(
        patient=patient,
        use=use,
        granted=granted,
        form="verbal",
        words="Yes, you can take photos for my notes.",
        actor=Actor.system(user=by),
    )


def frontal_photo(patient: Patient, by, *, view: str = "frontal") -> PatientPhoto:
    """A real (plain) JPEG stored through the photo service; needs the private_media fixture.

    The patient's consent to clinical-record photos is recorded first if they have none."""
    if not consultation_services.photo_use_consented(patient, "clinical"):
        photography_consent(patient, by)
    out = io.BytesIO()
    Image.new("RGB", (600, 600), (200, 170, 150)).save(out, format="JPEG")
    return consultation_services.add_patient_photos(
        patient=patient,
        files=[SimpleUploadedFile("face.jpg", out.getvalue(), content_type="image/jpeg")],
        view=view,
        stage="baseline",
        taken_on=timezone.localdate(),
        actor=Actor.system(user=by),
    )[0]


# -- the project's URLs -----------------------------------------------------------------------

SAMPLE_VALUES = ["1", "00000000-0000-0000-0000-000000000001", "sample"]


def iter_patterns(patterns, prefix="", namespace=None):
    """(regex, name) for every URL pattern, namespaces included."""
    for entry in patterns:
        regex = prefix + entry.pattern.regex.pattern.lstrip("^").rstrip("$").replace(r"\Z", "")
        if isinstance(entry, URLResolver):
            ns = entry.namespace or namespace
            yield from iter_patterns(entry.url_patterns, regex, ns)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name
            yield regex, name


def sample_path(regex: str) -> str:
    """A concrete path that the pattern matches, with sample values in its arguments."""
    for template, params in normalize(regex):
        for value in SAMPLE_VALUES:
            path = "/" + template % dict.fromkeys(params, value)
            try:
                resolve(path)
            except Resolver404:
                continue
            return path
    raise AssertionError(f"could not build a sample path for {regex!r}")
