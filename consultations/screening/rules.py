"""Suitability screening for thread lifts: the rule set, as data, and its evaluation.

Each rule names the answers it reads (medical history, assessment, age), its
level, a one-line rationale, the advice to show and what it rests on: the
published sources it cites (consultations.screening.sources), or a plain
`source_note` saying that no specific source was found and the rule is clinic
policy. A rule that holds only in some places names its jurisdictions
(`jurisdictions`, or `not_in` for the general rule beside a local one); a
screening records the jurisdiction it was judged under.

The set carries a version; a screening stores the version and the findings it
produced (citations included), so changing a rule here never rewrites an old
result (see `evaluate`). The version is pinned to a digest of the rules'
defining data (`rules_digest`): change a rule and tests fail until the version
is bumped and its digest recorded in `RULES_DIGESTS`.

Levels:
- absolute: do not treat (outcome "not suitable");
- defer: do not treat before a date (outcome "defer until");
- relative: treat with precautions, or refer, as the advice says;
- advisory: worth saying, changes nothing.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import date, timedelta
from typing import Any

from consultations.screening import sources as cited
from consultations.screening.sources import Source

RULES_VERSION = "2026.12-1"

# Every version's digest of the rule table (see `rules_digest`), newest last. A changed
# rule table needs a new version here: tests/consultations/test_screening_rules.py says so.
RULES_DIGESTS = {
    "2026.12-1": "26cda7b242015b055cf1e2b72a1aa19c062497fd82b2df6daafcd8f283fe764e",
}


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
    cold_sores: bool = False
    aspirin: bool = False
    nsaids: bool = False
    bleeding_supplements: bool = False
    bleeding_supplement_details: str = ""
    active_cancer: bool = False
    koebner_skin_disease: bool = False
    koebner_skin_disease_details: str = ""
    vaccinated_on: date | None = None
    isotretinoin_last_taken_on: date | None = None
    current_medications: str = ""
    # Where the patient is judged: a Location.jurisdiction code such as "GB-ENG" or "US-NY"
    # ("" when unknown: only the rules that hold everywhere apply).
    jurisdiction: str = ""

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
    sources: tuple[Source, ...] = ()
    source_note: str = ""

    def as_dict(self) -> dict:
        data = asdict(self)
        data["not_before"] = self.not_before.isoformat() if self.not_before else None
        data["sources"] = [source.as_dict() for source in self.sources]
        return data


def in_jurisdiction(code: str, where: str) -> bool:
    """Whether a place (`where`, e.g. "GB-ENG") lies in a rule's jurisdiction (`code`).

    "GB" covers "GB-ENG" and "GB-SCT"; "GB-ENG" covers only itself.
    """
    return bool(where) and (where == code or where.startswith(code + "-"))


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
    # What the rule rests on: the sources it cites, and/or a plain note (required when
    # there is no source: "No specific published source found; clinic policy ...").
    sources: tuple[Source, ...] = ()
    source_note: str = ""
    # Where it holds: empty means everywhere; `not_in` leaves out the places that have
    # their own rule for the same question.
    jurisdictions: tuple[str, ...] = ()
    not_in: tuple[str, ...] = ()

    def holds_in(self, where: str) -> bool:
        if self.jurisdictions and not any(in_jurisdiction(c, where) for c in self.jurisdictions):
            return False
        return not any(in_jurisdiction(code, where) for code in self.not_in)

    def evaluate(self, facts: Facts) -> Finding | None:
        if not self.holds_in(facts.jurisdiction):
            return None
        result = self.check(facts)
        if result is None:
            return None
        detail, not_before = result
        return Finding(
            self.id,
            self.level,
            self.title,
            self.advice,
            self.rationale,
            detail,
            not_before,
            self.sources,
            self.source_note,
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


def _since_answer(answer: str, wait: timedelta, label: str):
    """A rule check: a dated answer (`Facts.<answer>`) less than `wait` ago defers to day + wait."""

    def check(facts: Facts):
        day: date | None = getattr(facts, answer)
        if day is None or day + wait <= facts.today:
            return None
        return (f"{label} on {day:%d %b %Y}", day + wait)

    return check


def _event_check(facts: Facts):
    for label, day in (
        ("Dental work", facts.planned_dental_work_on),
        ("Important event", facts.important_event_on),
    ):
        if day is not None and _within_two_weeks(day, facts.today):
            return (f"{label} on {day:%d %b %Y}", day + timedelta(days=1))
    return None


NO_SOURCE = "No specific published source found; clinic policy"

RULES: tuple[Rule, ...] = (
    Rule(
        "pregnancy",
        "Pregnant or breastfeeding",
        ("pregnant", "breastfeeding"),
        Level.ABSOLUTE,
        "An elective cosmetic procedure with local anaesthetic can wait until after "
        "pregnancy and breastfeeding.",
        "Do not treat now; offer a new consultation after pregnancy and breastfeeding.",
        lambda f: _if(f.pregnant or f.breastfeeding),
        source_note=f"{NO_SOURCE}: elective treatment waits until after pregnancy and "
        "breastfeeding.",
    ),
    Rule(
        "active-infection",
        "Active infection, acne or cold sores in the face",
        ("active_skin_infection",),
        Level.ABSOLUTE,
        "Threads passed through infected skin can carry organisms into the tissue.",
        "Do not treat until the skin has healed; consider antiviral cover for cold sores.",
        lambda f: _if(f.active_skin_infection),
        source_note=f"{NO_SOURCE}: no treatment through infected skin.",
    ),
    Rule(
        "bleeding-disorder",
        "Bleeding or clotting disorder",
        ("bleeding_disorder",),
        Level.ABSOLUTE,
        "Cannula and needle passes cause haematoma that a clotting disorder may not contain.",
        "Do not treat; discuss with the patient's haematologist if they still wish to.",
        lambda f: _if(f.bleeding_disorder),
        source_note=f"{NO_SOURCE}: no elective thread lift with a bleeding disorder.",
    ),
    Rule(
        "anticoagulants",
        "Takes anticoagulants or antiplatelets",
        ("anticoagulants", "anticoagulant_details"),
        Level.RELATIVE,
        "Blood thinners raise the risk of bruising and haematoma.",
        "Do not stop anticoagulants without the prescriber's advice; expect more bruising and "
        "plan pressure and cold compresses.",
        lambda f: _if(f.anticoagulants, f.anticoagulant_details),
        source_note=f"{NO_SOURCE}: no thread-lift source on anticoagulants was found; they are "
        "never stopped for a cosmetic procedure without the prescriber.",
    ),
    Rule(
        "aspirin",
        "Takes aspirin",
        ("aspirin",),
        Level.RELATIVE,
        "Aspirin raises bleeding risk. Taken as an antiplatelet at low dose it is continued "
        "for minor procedures; taken for pain it can be stopped 7 days before.",
        "If aspirin is prescribed (for the heart or against stroke), do not stop it; if it is "
        "taken for pain, ask the patient to stop it 7 days before and use another painkiller. "
        "Expect more bruising.",
        lambda f: _if(f.aspirin),
        sources=(cited.UKCPA_ASPIRIN,),
        source_note="The handbook is written for surgery; a thread lift is taken here as a "
        "low-bleeding-risk procedure.",
    ),
    Rule(
        "nsaids",
        "Takes anti-inflammatory painkillers (NSAIDs)",
        ("nsaids",),
        Level.RELATIVE,
        "Standard NSAIDs such as ibuprofen and naproxen raise bleeding risk if continued.",
        "Expect more bruising. A short-acting NSAID taken for pain may be paused the day "
        "before; one prescribed for a condition is paused only with the prescriber's "
        "agreement.",
        lambda f: _if(f.nsaids),
        sources=(cited.UKCPA_NSAIDS,),
    ),
    Rule(
        "bleeding-supplements",
        "Takes supplements that increase bleeding (fish oil, vitamin E, ginkgo, …)",
        ("bleeding_supplements", "bleeding_supplement_details"),
        Level.RELATIVE,
        "Several herbal and dietary supplements can cause bleeding around procedures; every "
        "patient is asked about them and told of the risk.",
        "Ask the patient to pause non-essential supplements before treatment, as the "
        "practitioner advises; expect more bruising.",
        lambda f: _if(f.bleeding_supplements, f.bleeding_supplement_details),
        sources=(cited.WONG_2012,),
        source_note="The review is about surgery and sets no pause for thread lifts: how long "
        "to pause is the practitioner's decision.",
    ),
    Rule(
        "autoimmune",
        "Autoimmune or connective-tissue disease",
        ("autoimmune_disease",),
        Level.RELATIVE,
        "A review of aesthetic procedures in autoimmune thyroid disease does not recommend "
        "lifting threads, for lack of safety studies and a possibly higher rate of side "
        "effects.",
        "Treat only when the disease is quiet and with the specialist's agreement; record it.",
        lambda f: _if(f.autoimmune_disease),
        sources=(cited.ADAMCZYK_2022,),
        source_note="The review covers autoimmune thyroid disease; for other autoimmune "
        "diseases no specific source was found and the same precaution is clinic policy.",
    ),
    Rule(
        "immunosuppression",
        "Immunosuppression or chemotherapy",
        ("immunosuppressed",),
        Level.ABSOLUTE,
        "Immunosuppression raises the risk of infection and poor healing around an implant.",
        "Do not treat during immunosuppression or chemotherapy.",
        lambda f: _if(f.immunosuppressed),
        source_note=f"{NO_SOURCE}.",
    ),
    Rule(
        "active-cancer",
        "Active cancer or cancer treatment under way",
        ("active_cancer",),
        Level.ABSOLUTE,
        "An elective cosmetic procedure waits while cancer is active or being treated.",
        "Do not treat now; offer treatment once the oncologist agrees.",
        lambda f: _if(f.active_cancer),
        source_note=f"{NO_SOURCE}: elective cosmetic treatment waits for the oncologist's "
        "agreement.",
    ),
    Rule(
        "uncontrolled-diabetes",
        "Uncontrolled diabetes",
        ("diabetes",),
        Level.ABSOLUTE,
        "Uncontrolled diabetes impairs healing and raises infection risk.",
        "Do not treat until the diabetes is controlled; ask the patient's GP for a recent HbA1c.",
        lambda f: _if(f.diabetes == "uncontrolled"),
        source_note=f"{NO_SOURCE}.",
    ),
    Rule(
        "keloid",
        "Keloid or hypertrophic scarring",
        ("keloid_tendency",),
        Level.RELATIVE,
        "Entry points can form keloid or hypertrophic scars in prone patients.",
        "Discuss the scar risk; keep entry points few, small and in hidden places.",
        lambda f: _if(f.keloid_tendency),
        source_note=f"{NO_SOURCE}.",
    ),
    Rule(
        "koebner-skin-disease",
        "Skin disease with a Koebner response (psoriasis, vitiligo, lichen planus)",
        ("koebner_skin_disease", "koebner_skin_disease_details"),
        Level.RELATIVE,
        "In psoriasis, vitiligo and similar diseases new lesions can appear where the skin "
        "is injured, even trivially and on the face: entry points are such injuries.",
        "Keep entry points and thread paths off affected skin; warn that new patches can "
        "appear at entry points; treat when the disease is quiet.",
        lambda f: _if(f.koebner_skin_disease, f.koebner_skin_disease_details),
        sources=(cited.KOEBNER_STATPEARLS,),
    ),
    Rule(
        "cold-sores",
        "History of cold sores (herpes labialis)",
        ("cold_sores",),
        Level.RELATIVE,
        "Procedures on the face can reactivate herpes simplex; antiviral prophylaxis started "
        "the day before or the morning of facial resurfacing prevented every reactivation in "
        "a randomised trial. The trial was of resurfacing, not threads.",
        "Consider antiviral cover (a prescriber's decision) starting before treatment; never "
        "treat through an active cold sore.",
        lambda f: _if(f.cold_sores),
        sources=(cited.GILBERT_2000,),
        source_note="Applied to threads by analogy with facial resurfacing: no thread-lift "
        "study was found.",
    ),
    Rule(
        "isotretinoin",
        "Isotretinoin (Roaccutane) in the last 6 months",
        ("isotretinoin_last_taken_on",),
        Level.RELATIVE,
        "The customary wait of 6 to 12 months after isotretinoin rests on 3 small case "
        "series; a consensus review found too little evidence to delay skin surgery and "
        "several skin procedures, though not mechanical dermabrasion or fully ablative laser.",
        "Discuss the uncertain risk to healing and scarring, examine the skin at the entry "
        "points and record the decision; threads were not studied.",
        lambda f: _if(
            f.isotretinoin_last_taken_on is not None
            and f.isotretinoin_last_taken_on + timedelta(days=183) > f.today,
            f"last taken {f.isotretinoin_last_taken_on:%d %b %Y}"
            if f.isotretinoin_last_taken_on
            else "",
        ),
        sources=(cited.SPRING_2017,),
    ),
    Rule(
        "anaesthetic-allergy",
        "Allergy to lidocaine or other local anaesthetics",
        ("allergy_local_anaesthetic",),
        Level.RELATIVE,
        "Local anaesthetic is used at the entry points.",
        "Do not use the agent; plan an alternative anaesthetic or refer for allergy testing.",
        lambda f: _if(f.allergy_local_anaesthetic),
        source_note=f"{NO_SOURCE}: a known allergen is not given.",
    ),
    Rule(
        "thread-material-allergy",
        "Allergy to sutures or thread materials",
        ("allergy_suture_material",),
        Level.ABSOLUTE,
        "A thread stays in the tissue for months: a material the patient reacts to cannot "
        "be taken out easily.",
        "Do not treat with a material the patient reacts to.",
        lambda f: _if(f.allergy_suture_material),
        source_note=f"{NO_SOURCE}: a known allergen is not implanted.",
    ),
    Rule(
        "permanent-filler-or-implant",
        "Permanent filler or implant in the treatment area",
        ("previous_treatments", "facial_implants"),
        Level.ABSOLUTE,
        "Threads passed through permanent filler or beside implants risk infection, "
        "displacement and granuloma.",
        "Do not place threads in an area with permanent filler or an implant.",
        lambda f: _if(
            bool(f.treated_in_area("permanent_filler")) or f.facial_implants,
            ", ".join(sorted({t.area for t in f.treated_in_area("permanent_filler")}))
            or "facial implant",
        ),
        source_note=f"{NO_SOURCE}.",
    ),
    Rule(
        "recent-ha-filler",
        "Hyaluronic filler in the area in the last 4 weeks",
        ("previous_treatments",),
        Level.DEFER,
        "Fresh filler can be displaced by threads, and swelling hides the result.",
        "Wait until the filler has settled.",
        _waiting_period(("ha_filler", "semi_permanent_filler"), timedelta(weeks=4), "Filler"),
        source_note=f"{NO_SOURCE}: a 4-week wait.",
    ),
    Rule(
        "recent-toxin",
        "Botulinum toxin in the area in the last 2 weeks",
        ("previous_treatments",),
        Level.DEFER,
        "Toxin takes about two weeks to reach full effect, which changes the lift needed.",
        "Wait until the toxin has taken full effect.",
        _waiting_period(("toxin",), timedelta(weeks=2), "Toxin"),
        source_note=f"{NO_SOURCE}: a 2-week wait.",
    ),
    Rule(
        "recent-threads",
        "Other threads in the area in the last 3 months",
        ("previous_treatments",),
        Level.DEFER,
        "New threads beside unabsorbed ones raise the risk of irregularity and infection.",
        "Wait until the earlier threads have settled, then reassess.",
        _waiting_period(("threads",), timedelta(days=91), "Threads"),
        source_note=f"{NO_SOURCE}: a 3-month wait.",
    ),
    Rule(
        "recent-surgery",
        "Facial surgery in the last 6 months",
        ("previous_treatments",),
        Level.DEFER,
        "Tissue planes are still remodelling for months after surgery.",
        "Wait six months after surgery and ask the surgeon's view.",
        _waiting_period(("facial_surgery",), timedelta(days=183), "Surgery"),
        source_note=f"{NO_SOURCE}: a 6-month wait.",
    ),
    Rule(
        "recent-vaccine",
        "A vaccination in the last 2 weeks",
        ("vaccinated_on",),
        Level.DEFER,
        "A vaccine stirs the immune system, which can inflame foreign material in the skin; "
        "filler guidance asks for a gap after COVID-19 vaccination.",
        "Book the treatment at least 2 weeks after the vaccination.",
        _since_answer("vaccinated_on", timedelta(days=14), "Vaccination"),
        sources=(cited.ACE_VACCINE_FILLER,),
        source_note="No thread-specific source found: the 2-week wait after any vaccine is "
        "clinic policy, modelled on the filler guidance cited.",
    ),
    Rule(
        "dental-or-event",
        "Dental work or an important event within two weeks",
        ("planned_dental_work_on", "important_event_on"),
        Level.DEFER,
        "Bruising and swelling last up to two weeks; dental work stretches the face and "
        "risks displacing threads.",
        "Book the treatment after the dental work or event.",
        _event_check,
        source_note=f"{NO_SOURCE}.",
    ),
    Rule(
        "smoking",
        "Smokes",
        ("smoking",),
        Level.RELATIVE,
        "Smokers have more wound infection and slower healing after surgery, and stopping "
        "smoking reduces infections.",
        "Advise stopping for two weeks before and after; warn of slower healing.",
        lambda f: _if(f.smoking == "current"),
        sources=(cited.SORENSEN_2012,),
        source_note="The two weeks before and after are clinic policy; the meta-analysis is "
        "of surgery.",
    ),
    Rule(
        "medications-to-review",
        "Current medicines listed: for the practitioner's review",
        ("current_medications",),
        Level.RELATIVE,
        "Free-text medicines cannot be checked by a rule; each one is read by the "
        "practitioner for bleeding, healing and interactions.",
        "Review each listed medicine before treatment and acknowledge it in the decision.",
        lambda f: _if(bool(f.current_medications.strip()), f.current_medications.strip()[:200]),
        source_note=f"{NO_SOURCE}: every listed medicine is reviewed before treatment.",
    ),
    Rule(
        "severe-laxity",
        "Severe laxity (grade 4): better served by surgery",
        ("laxity",),
        Level.RELATIVE,
        "Threads give a modest lift that fades within a year; severe laxity needs surgical "
        "lifting for a lasting result.",
        "Refer for a surgical opinion; treat with threads only with realistic expectations.",
        lambda f: _if(
            any(grade >= 4 for grade in f.laxity.values()),
            ", ".join(sorted(a for a, g in f.laxity.items() if g >= 4)),
        ),
        sources=(cited.BERTOSSI_2018, cited.NIU_2021),
        source_note="Grade 4 as the point to refer is clinic policy.",
    ),
    Rule(
        "under-18-england",
        "Under 18 (England)",
        ("date_of_birth",),
        Level.ABSOLUTE,
        "In England it is an offence to give botulinum toxin or a cosmetic filler injection "
        "to anyone under 18. The Act does not cover threads.",
        "Do not treat.",
        lambda f: _if(f.age < 18, f"aged {f.age}"),
        sources=(cited.CHILDREN_ACT_2021, cited.CHILDREN_ACT_GUIDANCE),
        source_note="The law cited does not cover threads: for a thread lift the age limit is "
        "clinic policy, in line with the Act.",
        jurisdictions=("GB-ENG",),
    ),
    Rule(
        "under-18",
        "Under 18",
        ("date_of_birth",),
        Level.ABSOLUTE,
        "The clinic does not perform cosmetic thread lifts on patients under 18.",
        "Do not treat.",
        lambda f: _if(f.age < 18, f"aged {f.age}"),
        source_note=f"{NO_SOURCE}: no law found here that covers thread lifts for patients "
        "under 18.",
        not_in=("GB-ENG",),
    ),
    Rule(
        "over-50",
        "Over 50",
        ("date_of_birth",),
        Level.ADVISORY,
        "Patients over 50 had more dimpling and infection after thread lifts in a "
        "meta-analysis of 26 studies.",
        "Set expectations: a smaller, shorter-lived lift; discuss dimpling.",
        lambda f: _if(f.age > 50, f"aged {f.age}"),
        sources=(cited.NIU_2021,),
    ),
    Rule(
        "gold-threads",
        "Previous permanent gold threads in the area",
        ("previous_treatments",),
        Level.ADVISORY,
        "Permanent gold threads stay in the planes where new threads would go.",
        "Note the gold threads in the plan; avoid their planes.",
        lambda f: _if(
            bool(f.treated_in_area("gold_threads")),
            ", ".join(sorted({t.area for t in f.treated_in_area("gold_threads")})),
        ),
        source_note=f"{NO_SOURCE}.",
    ),
)

RULES_BY_ID = {rule.id: rule for rule in RULES}


# Body-image screen, scored like the BDDQ-AS (sources.DEY_2015):
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
    "About one in ten facial cosmetic patients screens positive, and surgeons rarely "
    "recognise them; patients with body dysmorphic disorder need psychiatric care, not "
    "cosmetic treatment.",
    sources=(cited.DEY_2015, cited.JOSEPH_2017),
    source_note="The questions are the BDDQ-AS scored as Dey et al. describe; treating a "
    "positive screen as do-not-proceed, rather than as a relative contraindication, is "
    "clinic policy.",
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


# The pin between the version and the rules ------------------------------------------------


def _condition_identity(check: Callable[..., object]) -> str:
    """What a rule's condition is: its source text, whitespace removed, and any values it
    closes over (a waiting period's kinds and length), so a changed condition changes it."""
    text = "".join(inspect.getsource(check).split())
    cells = [repr(cell.cell_contents) for cell in check.__closure__ or ()]
    return text + "|" + "|".join(cells)


def _defining_data(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "title": rule.title,
        "reads": list(rule.reads),
        "level": rule.level,
        "rationale": rule.rationale,
        "advice": rule.advice,
        "condition": _condition_identity(rule.check),
        "sources": [source.as_dict() for source in rule.sources],
        "source_note": rule.source_note,
        "jurisdictions": list(rule.jurisdictions),
        "not_in": list(rule.not_in),
    }


def rules_digest(rules: tuple[Rule, ...] | None = None) -> str:
    """SHA-256 of everything that defines the rule set (the rules, the body-image finding
    and its scoring), as recorded for each version in RULES_DIGESTS."""
    data = {
        "rules": [_defining_data(rule) for rule in (RULES if rules is None else rules)],
        "body_image": {
            "finding": BODY_IMAGE_FINDING.as_dict(),
            "questions": [list(question) for question in BODY_IMAGE_QUESTIONS],
            "impact_items": list(IMPACT_ITEMS),
            "scoring": _condition_identity(body_image_positive),
        },
    }
    encoded = json.dumps(data, sort_keys=True, ensure_ascii=True, default=str)
    return hashlib.sha256(encoded.encode()).hexdigest()


# Online booking's questions ------------------------------------------------------------
#
# Before a patient books a consultation online they answer a few questions, each the
# plain question behind one rule above: only rules that rule treatment out now
# (absolute) and that a patient can answer about themselves. An answer that triggers the
# rule stops the online booking (consultations.views.online_booking); the findings are
# the rules' own, with their sources, so there is one rule set.

ONLINE_QUESTIONS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("pregnant_or_breastfeeding", "Are you pregnant or breastfeeding?", ("pregnancy",)),
    ("under_18", "Are you under 18?", ("under-18-england", "under-18")),
    (
        "active_skin_infection",
        "Do you have an infection, an acne flare or a cold sore on your face right now?",
        ("active-infection",),
    ),
    (
        "immunosuppressed",
        "Are you taking immunosuppressants or having chemotherapy?",
        ("immunosuppression",),
    ),
    (
        "active_cancer",
        "Do you have cancer that is active or being treated?",
        ("active-cancer",),
    ),
)


def online_eligibility_problems(
    answers: dict[str, bool],
    *,
    jurisdiction: str = "",
    age: int | None = None,
    today: date | None = None,
) -> list[Finding]:
    """The findings of the online questions' rules for these yes/no answers (keys of
    ONLINE_QUESTIONS); none means the patient may book online. `age`, once the date of
    birth is known, replaces the answer to "under 18?"."""
    if age is None:
        age = 17 if answers.get("under_18") else 18
    facts = Facts(
        today=today or date.today(),
        age=age,
        treatment_areas=frozenset(),
        laxity={},
        pregnant=bool(answers.get("pregnant_or_breastfeeding")),
        active_skin_infection=bool(answers.get("active_skin_infection")),
        immunosuppressed=bool(answers.get("immunosuppressed")),
        active_cancer=bool(answers.get("active_cancer")),
        jurisdiction=jurisdiction,
    )
    asked = {rule_id for _key, _question, rule_ids in ONLINE_QUESTIONS for rule_id in rule_ids}
    # The detail ("aged 17") is for the clinic's record, not for the page.
    return [
        replace(finding, detail="")
        for rule in RULES
        if rule.id in asked and (finding := rule.evaluate(facts))
    ]
