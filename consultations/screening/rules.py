"""Suitability screening for thread lifts: the rule set, as data, and its evaluation.

Each rule names the answers it reads (medical history, assessment, age), its
level, a one-line rationale with its source, and the advice to show. The set
carries a version; a screening stores the version and the findings it produced,
so changing a rule here never rewrites an old result (see `evaluate`).

Levels:
- absolute: do not treat (outcome "not suitable");
- defer: do not treat before a date (outcome "defer until");
- relative: treat with precautions, or refer, as the advice says;
- advisory: worth saying, changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta

RULES_VERSION = "2026.11-1"


class Level:
    ABSOLUTE = "absolute"
    DEFER = "defer"
    RELATIVE = "relative"
    ADVISORY = "advisory"


class Outcome:
    SUITABLE = "suitable"
    PRECAUTIONS = "precautions"
    DEFER = "defer"
    NOT_SUITABLE = "not_suitable"

    LABELS = {
        SUITABLE: "Suitable",
        PRECAUTIONS: "Suitable with precautions",
        DEFER: "Defer until a later date",
        NOT_SUITABLE: "Not suitable",
    }


@dataclass(frozen=True)
class PreviousTreatmentFact:
    kind: str
    area: str
    treated_on: date


@dataclass(frozen=True)
class Facts:
    """Everything the rules may read, gathered once (screening.services.run_screening)."""

    today: date
    age: int
    treatment_areas: frozenset[str]
    laxity: dict[str, int]
    pregnant: bool = False
    breastfeeding: bool = False
    anticoagulants: bool = False
    anticoagulant_details: str = ""
    bleeding_disorder: bool = False
    autoimmune_disease: bool = False
    immunosuppressed: bool = False
    diabetes: str = "none"
    active_skin_infection: bool = False
    keloid_tendency: bool = False
    allergy_local_anaesthetic: bool = False
    allergy_suture_material: bool = False
    facial_implants: bool = False
    smoking: str = "never"
    planned_dental_work_on: date | None = None
    important_event_on: date | None = None
    previous_treatments: tuple[PreviousTreatmentFact, ...] = ()

    def treated_in_area(self, *kinds: str) -> list[PreviousTreatmentFact]:
        return [
            t
            for t in self.previous_treatments
            if t.kind in kinds and (t.area in self.treatment_areas or t.area == "other")
        ]


@dataclass(frozen=True)
class Finding:
    """What one triggered rule says about this patient (stored with the screening)."""

    rule_id: str
    level: str
    title: str
    advice: str
    rationale: str
    detail: str = ""
    not_before: date | None = None

    def as_dict(self) -> dict:
        data = asdict(self)
        data["not_before"] = self.not_before.isoformat() if self.not_before else None
        return data


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    reads: tuple[str, ...]
    level: str
    rationale: str
    advice: str
    # Returns None when the rule does not apply, else (detail, not_before).
    check: Callable[[Facts], tuple[str, date | None] | None] = field(repr=False)

    def evaluate(self, facts: Facts) -> Finding | None:
        result = self.check(facts)
        if result is None:
            return None
        detail, not_before = result
        return Finding(
            self.id, self.level, self.title, self.advice, self.rationale, detail, not_before
        )


def _if(condition: bool, detail: str = "") -> tuple[str, None] | None:
    return (detail, None) if condition else None


def _waiting_period(kinds: tuple[str, ...], wait: timedelta, label: str):
    """A rule check: a treatment of these kinds in the area less than `wait` ago defers."""

    def check(facts: Facts):
        recent = [t for t in facts.treated_in_area(*kinds) if t.treated_on + wait > facts.today]
        if not recent:
            return None
        latest = max(recent, key=lambda t: t.treated_on)
        ready = latest.treated_on + wait
        return (f"{label} on {latest.treated_on:%d %b %Y} ({latest.area})", ready)

    return check


def _within_two_weeks(day: date | None, today: date) -> bool:
    return day is not None and today <= day < today + timedelta(days=14)


def _event_check(facts: Facts):
    for label, day in (
        ("Dental work", facts.planned_dental_work_on),
        ("Important event", facts.important_event_on),
    ):
        if day is not None and _within_two_weeks(day, facts.today):
            return (f"{label} on {day:%d %b %Y}", day + timedelta(days=1))
    return None


RULES: tuple[Rule, ...] = (
    Rule(
        "pregnancy",
        "Pregnant or breastfeeding",
        ("pregnant", "breastfeeding"),
        Level.ABSOLUTE,
        "Elective procedures and local anaesthetic are avoided in pregnancy and lactation "
        "(thread manufacturers' instructions for use).",
        "Do not treat now; offer a new consultation after pregnancy and breastfeeding.",
        lambda f: _if(f.pregnant or f.breastfeeding),
    ),
    Rule(
        "active-infection",
        "Active infection, acne or cold sores in the face",
        ("active_skin_infection",),
        Level.ABSOLUTE,
        "Threads through infected skin carry organisms into the tissue (manufacturers' "
        "instructions for use).",
        "Do not treat until the skin has healed; consider antiviral cover for cold sores.",
        lambda f: _if(f.active_skin_infection),
    ),
    Rule(
        "bleeding-disorder",
        "Bleeding or clotting disorder",
        ("bleeding_disorder",),
        Level.ABSOLUTE,
        "Cannula and needle passes cause haematoma that a clotting disorder may not contain "
        "(manufacturers' instructions for use).",
        "Do not treat; discuss with the patient's haematologist if they still wish to.",
        lambda f: _if(f.bleeding_disorder),
    ),
    Rule(
        "anticoagulants",
        "Takes anticoagulants or antiplatelets",
        ("anticoagulants", "anticoagulant_details"),
        Level.RELATIVE,
        "Blood thinners raise bruising and haematoma risk (peri-procedural guidance, BNF).",
        "Do not stop anticoagulants without the prescriber's advice; expect more bruising and "
        "plan pressure and cold compresses.",
        lambda f: _if(f.anticoagulants, f.anticoagulant_details),
    ),
    Rule(
        "autoimmune",
        "Autoimmune or connective-tissue disease",
        ("autoimmune_disease",),
        Level.RELATIVE,
        "Foreign material may trigger flares or granulomas in autoimmune disease "
        "(manufacturers' instructions for use).",
        "Treat only when the disease is quiet and with the specialist's agreement; record it.",
        lambda f: _if(f.autoimmune_disease),
    ),
    Rule(
        "immunosuppression",
        "Immunosuppression or chemotherapy",
        ("immunosuppressed",),
        Level.ABSOLUTE,
        "Infection risk and poor healing under immunosuppression (manufacturers' "
        "instructions for use).",
        "Do not treat during immunosuppression or chemotherapy.",
        lambda f: _if(f.immunosuppressed),
    ),
    Rule(
        "uncontrolled-diabetes",
        "Uncontrolled diabetes",
        ("diabetes",),
        Level.ABSOLUTE,
        "Uncontrolled diabetes impairs healing and raises infection risk (wound-healing "
        "literature; manufacturers' instructions for use).",
        "Do not treat until the diabetes is controlled; ask the patient's GP for a recent HbA1c.",
        lambda f: _if(f.diabetes == "uncontrolled"),
    ),
    Rule(
        "keloid",
        "Keloid or hypertrophic scarring",
        ("keloid_tendency",),
        Level.RELATIVE,
        "Entry points can form keloid or hypertrophic scars in prone patients (dermatology "
        "texts on scar formation).",
        "Discuss the scar risk; keep entry points few, small and in hidden places.",
        lambda f: _if(f.keloid_tendency),
    ),
    Rule(
        "anaesthetic-allergy",
        "Allergy to lidocaine or other local anaesthetics",
        ("allergy_local_anaesthetic",),
        Level.RELATIVE,
        "Local anaesthetic is used at entry points (resuscitation guidance on anaphylaxis).",
        "Do not use the agent; plan an alternative anaesthetic or refer for allergy testing.",
        lambda f: _if(f.allergy_local_anaesthetic),
    ),
    Rule(
        "thread-material-allergy",
        "Allergy to sutures or thread materials",
        ("allergy_suture_material",),
        Level.ABSOLUTE,
        "Known hypersensitivity to the material is a listed contraindication (manufacturers' "
        "instructions for use).",
        "Do not treat with a material the patient reacts to.",
        lambda f: _if(f.allergy_suture_material),
    ),
    Rule(
        "permanent-filler-or-implant",
        "Permanent filler or implant in the treatment area",
        ("previous_treatments", "facial_implants"),
        Level.ABSOLUTE,
        "Threads passed through permanent filler or beside implants risk infection, "
        "displacement and granuloma (manufacturers' instructions for use).",
        "Do not place threads in an area with permanent filler or an implant.",
        lambda f: _if(
            bool(f.treated_in_area("permanent_filler")) or f.facial_implants,
            ", ".join(sorted({t.area for t in f.treated_in_area("permanent_filler")}))
            or "facial implant",
        ),
    ),
    Rule(
        "recent-ha-filler",
        "Hyaluronic filler in the area in the last 4 weeks",
        ("previous_treatments",),
        Level.DEFER,
        "Fresh filler can be displaced by threads and swelling hides the result (consensus "
        "practice: wait 2–4 weeks).",
        "Wait until the filler has settled.",
        _waiting_period(("ha_filler", "semi_permanent_filler"), timedelta(weeks=4), "Filler"),
    ),
    Rule(
        "recent-toxin",
        "Botulinum toxin in the area in the last 2 weeks",
        ("previous_treatments",),
        Level.DEFER,
        "Toxin takes about two weeks to reach full effect, which changes the lift needed "
        "(product information).",
        "Wait until the toxin has taken full effect.",
        _waiting_period(("toxin",), timedelta(weeks=2), "Toxin"),
    ),
    Rule(
        "recent-threads",
        "Other threads in the area in the last 3 months",
        ("previous_treatments",),
        Level.DEFER,
        "New threads beside unabsorbed ones raise the risk of irregularity and infection "
        "(manufacturers' instructions for use).",
        "Wait until the earlier threads have settled, then reassess.",
        _waiting_period(("threads",), timedelta(days=91), "Threads"),
    ),
    Rule(
        "recent-surgery",
        "Facial surgery in the last 6 months",
        ("previous_treatments",),
        Level.DEFER,
        "Tissue planes are still remodelling for months after surgery (surgical follow-up "
        "practice).",
        "Wait six months after surgery and ask the surgeon's view.",
        _waiting_period(("facial_surgery",), timedelta(days=183), "Surgery"),
    ),
    Rule(
        "dental-or-event",
        "Dental work or an important event within two weeks",
        ("planned_dental_work_on", "important_event_on"),
        Level.DEFER,
        "Bruising and swelling last up to two weeks; dental work stretches the face and risks "
        "displacing threads (manufacturers' aftercare).",
        "Book the treatment after the dental work or event.",
        _event_check,
    ),
    Rule(
        "smoking",
        "Smokes",
        ("smoking",),
        Level.RELATIVE,
        "Smoking impairs healing and raises infection risk (wound-healing literature).",
        "Advise stopping for two weeks before and after; warn of slower healing.",
        lambda f: _if(f.smoking == "current"),
    ),
    Rule(
        "severe-laxity",
        "Severe laxity (grade 4): better served by surgery",
        ("laxity",),
        Level.RELATIVE,
        "Threads give a modest lift; severe laxity needs surgical lifting for a lasting result "
        "(thread-lift outcome reviews).",
        "Refer for a surgical opinion; treat with threads only with realistic expectations.",
        lambda f: _if(
            any(grade >= 4 for grade in f.laxity.values()),
            ", ".join(sorted(a for a, g in f.laxity.items() if g >= 4)),
        ),
    ),
    Rule(
        "under-18",
        "Under 18",
        ("date_of_birth",),
        Level.ABSOLUTE,
        "Cosmetic procedures are not offered to minors (UK Botulinum Toxin and Cosmetic "
        "Fillers (Children) Act 2021 and professional codes).",
        "Do not treat.",
        lambda f: _if(f.age < 18, f"aged {f.age}"),
    ),
    Rule(
        "over-50",
        "Over 50",
        ("date_of_birth",),
        Level.ADVISORY,
        "Older patients show more dimpling and infection (published thread-lift case series).",
        "Set expectations: a smaller, shorter-lived lift; discuss dimpling.",
        lambda f: _if(f.age > 50, f"aged {f.age}"),
    ),
    Rule(
        "gold-threads",
        "Previous permanent gold threads in the area",
        ("previous_treatments",),
        Level.ADVISORY,
        "Gold threads cause imaging artefacts and make revision harder (case reports).",
        "Note the gold threads in the plan; avoid their planes.",
        lambda f: _if(
            bool(f.treated_in_area("gold_threads")),
            ", ".join(sorted({t.area for t in f.treated_in_area("gold_threads")})),
        ),
    ),
)

RULES_BY_ID = {rule.id: rule for rule in RULES}


# Body-image screen, scored like the BDDQ-AS (Dey et al., JAMA Facial Plast Surg 2015):
# positive when the first two are "yes" and any impact item scores 3+ or the last is "yes".
BODY_IMAGE_QUESTIONS = (
    ("concerned", "Are you very worried about how some part of your face or body looks?", "yesno"),
    (
        "preoccupied",
        "Do these worries fill a lot of your thoughts, so that you wish you could think "
        "about them less?",
        "yesno",
    ),
    ("distress", "How much distress or upset do these worries cause you?", "scale"),
    ("social", "How much do they get in the way of your social life or relationships?", "scale"),
    ("work", "How much do they get in the way of your work, studies or daily routine?", "scale"),
    (
        "avoidance",
        "How much do you avoid places, people or activities because of how you look?",
        "scale",
    ),
    (
        "interference",
        "Overall, has worry about your appearance seriously interfered with your life?",
        "yesno",
    ),
)
IMPACT_ITEMS = ("distress", "social", "work", "avoidance")
SCALE_LABELS = {1: "Not at all", 2: "Mildly", 3: "Moderately", 4: "Severely", 5: "Extremely"}


def body_image_positive(answers: dict) -> bool:
    """True when the screen suggests body dysmorphic concern (see the scoring note above)."""
    if not (answers.get("concerned") and answers.get("preoccupied")):
        return False
    return any(int(answers.get(item) or 0) >= 3 for item in IMPACT_ITEMS) or bool(
        answers.get("interference")
    )


BODY_IMAGE_FINDING = Finding(
    "body-image",
    Level.ABSOLUTE,
    "Positive body-image screen",
    "Do not proceed now; discuss the concerns and offer referral to the GP or a psychologist.",
    "About one in ten cosmetic patients screens positive; treatment rarely satisfies and "
    "can worsen distress (Dey et al., JAMA Facial Plast Surg 2015).",
)


def evaluate(facts: Facts, body_image: dict) -> tuple[str, date | None, list[Finding]]:
    """The outcome, the date to defer until (if any) and every finding, most serious first."""
    findings = [finding for rule in RULES if (finding := rule.evaluate(facts))]
    if body_image_positive(body_image):
        findings.insert(0, BODY_IMAGE_FINDING)
    order = [Level.ABSOLUTE, Level.DEFER, Level.RELATIVE, Level.ADVISORY]
    findings.sort(key=lambda f: order.index(f.level))
    levels = {f.level for f in findings}
    defer_until = max((f.not_before for f in findings if f.not_before), default=None)
    if Level.ABSOLUTE in levels:
        return Outcome.NOT_SUITABLE, None, findings
    if Level.DEFER in levels:
        return Outcome.DEFER, defer_until, findings
    if Level.RELATIVE in levels:
        return Outcome.PRECAUTIONS, None, findings
    return Outcome.SUITABLE, None, findings
