"""Every screening rule, table-driven: the answers that trigger it and the outcome they give."""

from dataclasses import replace
from datetime import date, timedelta

import pytest

from consultations.screening import rules as screening
from consultations.screening.rules import (
    RULES,
    Facts,
    Level,
    Outcome,
    PreviousTreatmentFact,
    body_image_positive,
    evaluate,
)

TODAY = date(2026, 11, 25)
NO_CONCERN = {
    "concerned": False,
    "preoccupied": False,
    "distress": 1,
    "social": 1,
    "work": 1,
    "avoidance": 1,
    "interference": False,
}

HEALTHY = Facts(
    today=TODAY,
    age=42,
    treatment_areas=frozenset({"midface", "jawline"}),
    laxity={"midface": 2, "jawline": 2},
)


def treated(kind, area="midface", days_ago=10):
    return (PreviousTreatmentFact(kind, area, TODAY - timedelta(days=days_ago)),)


# rule id, the facts that trigger it, the outcome, the date treatment could go ahead (if any)
TRIGGERS = [
    ("pregnancy", {"pregnant": True}, Outcome.NOT_SUITABLE, None),
    ("pregnancy", {"breastfeeding": True}, Outcome.NOT_SUITABLE, None),
    ("active-infection", {"active_skin_infection": True}, Outcome.NOT_SUITABLE, None),
    ("bleeding-disorder", {"bleeding_disorder": True}, Outcome.NOT_SUITABLE, None),
    (
        "anticoagulants",
        {"anticoagulants": True, "anticoagulant_details": "Apixaban"},
        Outcome.PRECAUTIONS,
        None,
    ),
    ("autoimmune", {"autoimmune_disease": True}, Outcome.PRECAUTIONS, None),
    ("immunosuppression", {"immunosuppressed": True}, Outcome.NOT_SUITABLE, None),
    ("uncontrolled-diabetes", {"diabetes": "uncontrolled"}, Outcome.NOT_SUITABLE, None),
    ("keloid", {"keloid_tendency": True}, Outcome.PRECAUTIONS, None),
    ("anaesthetic-allergy", {"allergy_local_anaesthetic": True}, Outcome.PRECAUTIONS, None),
    ("thread-material-allergy", {"allergy_suture_material": True}, Outcome.NOT_SUITABLE, None),
    (
        "permanent-filler-or-implant",
        {"previous_treatments": treated("permanent_filler", days_ago=900)},
        Outcome.NOT_SUITABLE,
        None,
    ),
    ("permanent-filler-or-implant", {"facial_implants": True}, Outcome.NOT_SUITABLE, None),
    (
        "recent-ha-filler",
        {"previous_treatments": treated("ha_filler", days_ago=10)},
        Outcome.DEFER,
        TODAY + timedelta(days=18),
    ),
    (
        "recent-toxin",
        {"previous_treatments": treated("toxin", days_ago=3)},
        Outcome.DEFER,
        TODAY + timedelta(days=11),
    ),
    (
        "recent-threads",
        {"previous_treatments": treated("threads", days_ago=30)},
        Outcome.DEFER,
        TODAY + timedelta(days=61),
    ),
    (
        "recent-surgery",
        {"previous_treatments": treated("facial_surgery", area="other", days_ago=60)},
        Outcome.DEFER,
        TODAY + timedelta(days=123),
    ),
    (
        "dental-or-event",
        {"planned_dental_work_on": TODAY + timedelta(days=5)},
        Outcome.DEFER,
        TODAY + timedelta(days=6),
    ),
    (
        "dental-or-event",
        {"important_event_on": TODAY + timedelta(days=13)},
        Outcome.DEFER,
        TODAY + timedelta(days=14),
    ),
    ("smoking", {"smoking": "current"}, Outcome.PRECAUTIONS, None),
    ("severe-laxity", {"laxity": {"midface": 4, "jawline": 2}}, Outcome.PRECAUTIONS, None),
    ("under-18", {"age": 17, "jurisdiction": "US-NY"}, Outcome.NOT_SUITABLE, None),
    ("under-18-england", {"age": 17, "jurisdiction": "GB-ENG"}, Outcome.NOT_SUITABLE, None),
    ("cold-sores", {"cold_sores": True}, Outcome.PRECAUTIONS, None),
    ("aspirin", {"aspirin": True}, Outcome.PRECAUTIONS, None),
    ("nsaids", {"nsaids": True}, Outcome.PRECAUTIONS, None),
    (
        "bleeding-supplements",
        {"bleeding_supplements": True, "bleeding_supplement_details": "Fish oil"},
        Outcome.PRECAUTIONS,
        None,
    ),
    ("active-cancer", {"active_cancer": True}, Outcome.NOT_SUITABLE, None),
    (
        "koebner-skin-disease",
        {"koebner_skin_disease": True, "koebner_skin_disease_details": "Psoriasis, elbows"},
        Outcome.PRECAUTIONS,
        None,
    ),
    (
        "recent-vaccine",
        {"vaccinated_on": TODAY - timedelta(days=3)},
        Outcome.DEFER,
        TODAY + timedelta(days=11),
    ),
    (
        "isotretinoin",
        {"isotretinoin_last_taken_on": TODAY - timedelta(days=90)},
        Outcome.PRECAUTIONS,
        None,
    ),
    ("medications-to-review", {"current_medications": "Levothyroxine"}, Outcome.PRECAUTIONS, None),
    ("over-50", {"age": 51}, Outcome.SUITABLE, None),
    (
        "gold-threads",
        {"previous_treatments": treated("gold_threads", days_ago=3000)},
        Outcome.SUITABLE,
        None,
    ),
]

# Answers next to each rule that must NOT trigger it.
NEAR_MISSES = [
    ("anticoagulants", {"anticoagulant_details": "used to take aspirin"}),
    ("uncontrolled-diabetes", {"diabetes": "controlled"}),
    (
        "permanent-filler-or-implant",
        {"previous_treatments": treated("permanent_filler", area="lips")},
    ),
    ("recent-ha-filler", {"previous_treatments": treated("ha_filler", days_ago=29)}),
    ("recent-ha-filler", {"previous_treatments": treated("ha_filler", area="brow", days_ago=3)}),
    ("recent-toxin", {"previous_treatments": treated("toxin", days_ago=14)}),
    ("recent-threads", {"previous_treatments": treated("threads", days_ago=92)}),
    (
        "recent-surgery",
        {"previous_treatments": treated("facial_surgery", area="other", days_ago=200)},
    ),
    ("dental-or-event", {"planned_dental_work_on": TODAY + timedelta(days=14)}),
    ("smoking", {"smoking": "former"}),
    ("severe-laxity", {"laxity": {"midface": 3}}),
    ("under-18", {"age": 18}),
    ("recent-vaccine", {"vaccinated_on": TODAY - timedelta(days=14)}),
    ("isotretinoin", {"isotretinoin_last_taken_on": TODAY - timedelta(days=200)}),
    ("medications-to-review", {"current_medications": "  \n "}),
    ("over-50", {"age": 50}),
    ("gold-threads", {"previous_treatments": treated("gold_threads", area="neck")}),
]


VAGUE_SOURCES = ("instructions for use", "dermatology texts", "consensus practice")


def test_every_rule_has_a_trigger_case_and_explains_itself():
    assert {rule_id for rule_id, *_ in TRIGGERS} == {rule.id for rule in RULES}
    for rule in RULES:
        assert rule.level in {Level.ABSOLUTE, Level.DEFER, Level.RELATIVE, Level.ADVISORY}
        assert rule.rationale.strip().endswith("."), rule.id
        assert rule.advice.strip(), rule.id
        assert rule.reads, rule.id


@pytest.mark.parametrize(
    "rule",
    [*RULES, screening.BODY_IMAGE_FINDING],
    ids=lambda r: r.rule_id if hasattr(r, "rule_id") else r.id,
)
def test_every_rule_cites_a_checkable_source_or_says_it_has_none(rule):
    assert rule.sources or rule.source_note.startswith("No specific published source found")
    for source in rule.sources:
        assert source.authors and source.title and source.published_in and source.locator
        assert source.url.startswith("https://")
        assert source.year == "" or source.year.isdigit()
    text = " ".join([rule.rationale, rule.source_note]).lower()
    assert not any(vague in text for vague in VAGUE_SOURCES)


def test_a_finding_carries_its_rules_citation_as_stored_data():
    _outcome, _date, findings = evaluate(replace(HEALTHY, cold_sores=True), NO_CONCERN)
    stored = findings[0].as_dict()
    assert stored["rule_id"] == "cold-sores"
    assert stored["sources"][0]["authors"] == "Gilbert S, McBurney E"
    assert stored["sources"][0]["url"] == "https://pubmed.ncbi.nlm.nih.gov/10632686/"
    assert "resurfacing" in stored["source_note"]


def test_the_english_age_law_applies_in_england_only_and_says_it_does_not_cover_threads():
    minor = replace(HEALTHY, age=16)
    _o, _d, in_london = evaluate(replace(minor, jurisdiction="GB-ENG"), NO_CONCERN)
    _o, _d, in_new_york = evaluate(replace(minor, jurisdiction="US-NY"), NO_CONCERN)
    assert [f.rule_id for f in in_london] == ["under-18-england"]
    assert [f.rule_id for f in in_new_york] == ["under-18"]
    london, new_york = in_london[0], in_new_york[0]
    assert "Botulinum Toxin and Cosmetic Fillers (Children) Act 2021" in london.sources[0].title
    assert "does not cover threads" in london.source_note
    assert new_york.sources == ()
    assert "clinic policy" in new_york.source_note
    assert not any("Children) Act" in s.title for s in new_york.sources)


def test_a_rule_for_a_country_holds_in_its_subdivisions_only():
    assert screening.in_jurisdiction("GB", "GB-ENG")
    assert screening.in_jurisdiction("GB-ENG", "GB-ENG")
    assert not screening.in_jurisdiction("GB-ENG", "GB-SCT")
    assert not screening.in_jurisdiction("GB-ENG", "")
    assert not screening.in_jurisdiction("US", "USA")


def test_the_rule_set_version_is_pinned_to_a_digest_of_the_rules():
    digest = screening.rules_digest()
    recorded = screening.RULES_DIGESTS.get(screening.RULES_VERSION)
    assert recorded == digest, (
        f"The screening rules changed but RULES_VERSION is still {screening.RULES_VERSION!r}. "
        "Give the changed rule set a new version: in consultations/screening/rules.py set "
        f"RULES_VERSION to a new value and add it to RULES_DIGESTS with digest {digest!r} "
        "(keep the earlier versions' entries)."
    )
    assert list(screening.RULES_DIGESTS)[-1] == screening.RULES_VERSION
    assert len(set(screening.RULES_DIGESTS.values())) == len(screening.RULES_DIGESTS)


@pytest.mark.parametrize(
    "change",
    [
        lambda rule: replace(rule, advice=rule.advice + " And more."),
        lambda rule: replace(rule, level=Level.ABSOLUTE),
        lambda rule: replace(rule, sources=()),
        lambda rule: replace(rule, source_note="Changed."),
        lambda rule: replace(rule, check=lambda f: _always(f)),
        lambda rule: replace(rule, jurisdictions=("US-NY",)),
    ],
    ids=["advice", "level", "sources", "source note", "condition", "jurisdiction"],
)
def test_any_change_to_a_rule_changes_the_digest(change):
    changed = tuple(change(rule) if rule.id == "smoking" else rule for rule in RULES)
    assert screening.rules_digest(changed) != screening.rules_digest()


def _always(facts):
    return ("", None)


def test_a_changed_waiting_period_changes_the_digest():
    longer = screening._waiting_period(("toxin",), timedelta(weeks=3), "Toxin")
    changed = tuple(
        replace(rule, check=longer) if rule.id == "recent-toxin" else rule for rule in RULES
    )
    assert screening.rules_digest(changed) != screening.rules_digest()


@pytest.mark.parametrize(("rule_id", "answers", "outcome", "not_before"), TRIGGERS)
def test_the_rule_triggers_on_its_answers_with_its_outcome(rule_id, answers, outcome, not_before):
    result, defer_until, findings = evaluate(replace(HEALTHY, **answers), NO_CONCERN)
    assert [f.rule_id for f in findings] == [rule_id]
    assert result == outcome
    assert defer_until == not_before
    finding = findings[0]
    assert finding.advice == screening.RULES_BY_ID[rule_id].advice


@pytest.mark.parametrize(("rule_id", "answers"), NEAR_MISSES)
def test_the_rule_stays_quiet_on_answers_beside_it(rule_id, answers):
    _outcome, _date, findings = evaluate(replace(HEALTHY, **answers), NO_CONCERN)
    assert rule_id not in [f.rule_id for f in findings]


def test_a_healthy_patient_is_suitable_with_no_findings():
    assert evaluate(HEALTHY, NO_CONCERN) == (Outcome.SUITABLE, None, [])


def test_the_anticoagulant_advice_says_not_to_stop_them_alone():
    _outcome, _date, findings = evaluate(replace(HEALTHY, anticoagulants=True), NO_CONCERN)
    assert findings[0].advice.startswith(
        "Do not stop anticoagulants without the prescriber's advice"
    )


def test_the_most_serious_finding_decides_and_comes_first():
    facts = replace(
        HEALTHY,
        age=55,
        smoking="current",
        previous_treatments=treated("toxin", days_ago=2),
        pregnant=True,
    )
    outcome, defer_until, findings = evaluate(facts, NO_CONCERN)
    assert outcome == Outcome.NOT_SUITABLE
    assert defer_until is None
    assert [f.level for f in findings] == [
        Level.ABSOLUTE,
        Level.DEFER,
        Level.RELATIVE,
        Level.ADVISORY,
    ]


def test_deferrals_wait_for_the_latest_date():
    facts = replace(
        HEALTHY,
        previous_treatments=treated("toxin", days_ago=3) + treated("ha_filler", days_ago=1),
        important_event_on=TODAY + timedelta(days=3),
    )
    outcome, defer_until, _findings = evaluate(facts, NO_CONCERN)
    assert outcome == Outcome.DEFER
    assert defer_until == TODAY + timedelta(days=27)


BODY_IMAGE_CASES = [
    ({}, False),
    ({"concerned": True}, False),
    ({"concerned": True, "preoccupied": True}, False),
    ({"concerned": True, "preoccupied": True, "distress": 3}, True),
    ({"concerned": True, "preoccupied": True, "avoidance": 5}, True),
    ({"concerned": True, "preoccupied": True, "interference": True}, True),
    ({"concerned": False, "preoccupied": True, "distress": 5, "interference": True}, False),
    ({"concerned": True, "preoccupied": True, "distress": 2, "social": 2, "work": 2}, False),
]


@pytest.mark.parametrize(("answers", "positive"), BODY_IMAGE_CASES)
def test_the_body_image_screen_is_scored_like_the_bddq_as(answers, positive):
    assert body_image_positive({**NO_CONCERN, **answers}) is positive


def test_a_positive_body_image_screen_means_do_not_proceed():
    answers = {**NO_CONCERN, "concerned": True, "preoccupied": True, "social": 4}
    outcome, _date, findings = evaluate(HEALTHY, answers)
    assert outcome == Outcome.NOT_SUITABLE
    assert findings[0].rule_id == "body-image"
    assert "discuss" in findings[0].advice and "referral" in findings[0].advice


def test_the_questionnaire_has_seven_items_with_four_impact_scales():
    assert len(screening.BODY_IMAGE_QUESTIONS) == 7
    scales = [key for key, _text, kind in screening.BODY_IMAGE_QUESTIONS if kind == "scale"]
    assert tuple(scales) == screening.IMPACT_ITEMS
