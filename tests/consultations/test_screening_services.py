from dataclasses import replace
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from clinic.actors import Actor
from clinic.models import AuditAction, AuditEvent, Role
from consultations import services
from consultations.models import Screening
from consultations.screening import rules as screening_rules
from consultations.screening import services as screening_services
from consultations.selectors import check_planning_gate
from tests.factories import PatientFactory, StaffMemberFactory

pytestmark = pytest.mark.django_db

CALM = {
    "concerned": False,
    "preoccupied": False,
    "distress": 1,
    "social": 1,
    "work": 1,
    "avoidance": 1,
    "interference": False,
}


@pytest.fixture
def doctor(location):
    return StaffMemberFactory(role=Role.PRACTITIONER, locations=[location])


def assessed(patient, doctor, laxity=2):
    consultation = services.start_consultation(
        patient=patient, practitioner=doctor, actor=Actor.system(user=doctor.user)
    )
    return services.save_assessment(
        consultation=consultation,
        details={"fitzpatrick": 2, "glogau": 3, "skin_thickness": "normal"},
        areas={"midface": {"concern": "Flat cheeks", "goal": "Lift", "laxity": laxity}},
        actor=Actor.system(user=doctor.user),
    )


def screened(doctor, answers=None, body_image=CALM, laxity=2):
    patient = PatientFactory(date_of_birth=timezone.localdate() - timedelta(days=40 * 365))
    services.submit_medical_history(
        patient=patient, answers=answers or {}, actor=Actor.system(user=doctor.user)
    )
    consultation = assessed(patient, doctor, laxity)
    return screening_services.run_screening(
        consultation=consultation, body_image=body_image, actor=Actor.system(user=doctor.user)
    )


def test_a_screening_stores_its_rules_version_findings_and_outcome(doctor):
    result = screened(doctor, {"anticoagulants": True, "anticoagulant_details": "Apixaban"})
    assert result.rules_version == screening_rules.RULES_VERSION
    assert result.outcome == "precautions"
    assert [f["rule_id"] for f in result.findings] == ["anticoagulants"]
    assert result.findings[0]["detail"] == "Apixaban"
    assert result.facts["anticoagulants"] is True
    assert AuditEvent.objects.filter(action=AuditAction.CREATE, object_id=str(result.pk)).exists()


def test_screening_needs_a_medical_history_and_an_assessment(doctor):
    patient = PatientFactory()
    consultation = services.start_consultation(
        patient=patient, practitioner=doctor, actor=Actor.system(user=doctor.user)
    )
    with pytest.raises(ValidationError) as refused:
        screening_services.run_screening(
            consultation=consultation, body_image=CALM, actor=Actor.system(user=doctor.user)
        )
    assert "no medical history yet" in str(refused.value)
    assert "Record the assessment" in str(refused.value)
    assert Screening.objects.count() == 0


def test_the_rules_read_laxity_from_the_assessment(doctor):
    assert screened(doctor, laxity=4).findings[0]["rule_id"] == "severe-laxity"


def test_an_old_screening_keeps_its_outcome_after_the_rule_set_changes(doctor, monkeypatch):
    version_then = screening_rules.RULES_VERSION
    old = screened(doctor, {"smoking": "current"})
    assert old.outcome == "precautions"

    stricter = tuple(
        replace(rule, level=screening_rules.Level.ABSOLUTE) if rule.id == "smoking" else rule
        for rule in screening_rules.RULES
    )
    monkeypatch.setattr(screening_rules, "RULES", stricter)
    monkeypatch.setattr(screening_rules, "RULES_VERSION", "2027.01-1")
    new = screening_services.run_screening(
        consultation=old.consultation, body_image=CALM, actor=Actor.system(user=doctor.user)
    )

    old.refresh_from_db()
    assert (old.outcome, old.rules_version) == ("precautions", version_then)
    assert old.findings[0]["level"] == "relative"
    assert (new.outcome, new.rules_version) == ("not_suitable", "2027.01-1")


def test_an_override_needs_a_written_justification(doctor):
    result = screened(doctor, {"pregnant": True})
    with pytest.raises(ValidationError, match="Write why"):
        screening_services.decide_screening(
            screening=result,
            decision="overridden",
            justification="  ",
            actor=Actor.system(user=doctor.user),
        )
    result.refresh_from_db()
    assert result.decision == ""
    screening_services.decide_screening(
        screening=result,
        decision="overridden",
        justification="Delivered last week; not breastfeeding; the form was out of date.",
        actor=Actor.system(user=doctor.user),
    )
    result.refresh_from_db()
    assert result.decision == "overridden"
    assert result.decided_by == doctor.user
    event = AuditEvent.objects.get(action=AuditAction.UPDATE, summary__startswith="Overrode")
    assert "Delivered last week" in event.summary


def test_a_decision_cannot_be_taken_twice(doctor):
    result = screened(doctor)
    screening_services.decide_screening(
        screening=result, decision="accepted", actor=Actor.system(user=doctor.user)
    )
    with pytest.raises(ValidationError, match="already has a decision"):
        screening_services.decide_screening(
            screening=result,
            decision="overridden",
            justification="Changing my mind after the fact.",
            actor=Actor.system(user=doctor.user),
        )


def decided(doctor, decision="accepted", **answers):
    result = screened(doctor, answers)
    justification = (
        "Discussed at length; the risk is understood." if decision == "overridden" else ""
    )
    return screening_services.decide_screening(
        screening=result,
        decision=decision,
        justification=justification,
        actor=Actor.system(user=doctor.user),
    )


@pytest.mark.parametrize(
    ("answers", "decision", "allowed"),
    [
        ({}, "accepted", True),
        ({"smoking": "current"}, "accepted", True),
        ({"pregnant": True}, "accepted", False),
        ({"pregnant": True}, "overridden", True),
        ({"important_event_on": timezone.localdate() + timedelta(days=3)}, "accepted", False),
    ],
)
def test_the_planning_gate_follows_the_outcome_and_the_decision(doctor, answers, decision, allowed):
    result = decided(doctor, decision, **answers)
    gate = check_planning_gate(patient=result.patient)
    assert gate.allowed is allowed
    assert gate.screening == result
    if not allowed:
        assert result.get_outcome_display().lower() in gate.reason
        assert gate.next_step


def test_the_gate_is_closed_without_a_screening_or_a_decision(doctor):
    patient = PatientFactory()
    assert check_planning_gate(patient=patient).reason == "The patient has not been screened."
    undecided = screened(doctor)
    gate = check_planning_gate(patient=undecided.patient)
    assert not gate.allowed
    assert "no decision yet" in gate.reason


def test_the_gate_closes_when_the_screening_is_too_old(doctor, settings):
    result = decided(doctor)
    today = timezone.localdate()
    assert check_planning_gate(patient=result.patient, today=today + timedelta(days=90)).allowed
    late = check_planning_gate(patient=result.patient, today=today + timedelta(days=91))
    assert not late.allowed
    assert "91 days ago" in late.reason
    settings.SCREENING_VALID_DAYS = 120
    assert check_planning_gate(patient=result.patient, today=today + timedelta(days=91)).allowed


def test_a_new_medical_history_after_the_screening_closes_the_gate_until_reviewed(doctor):
    result = decided(doctor)
    services.submit_medical_history(
        patient=result.patient, answers={"smoking": "current"}, actor=Actor.system(user=doctor.user)
    )
    gate = check_planning_gate(patient=result.patient)
    assert not gate.allowed
    assert "medical history changed" in gate.reason
