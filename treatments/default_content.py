"""The clinical content every clinic starts with: consent form, aftercare, protocol presets.

One place for it: `manage.py setup_clinic` (a real clinic's first day) and the
demo loader both install it through `install_default_content`, which creates
only what is missing, so running either again changes nothing. Managers edit
all of it afterwards in Clinic settings; a changed instruction is theirs and is
never overwritten (a template is matched by its exact text).

Sources for the aftercare advice added here (each opened and read; where none
was found, that is said):

- ABSORPTION_SOURCES. P(LA/CL): Wong V. The science of absorbable
  poly(L-lactide-co-ε-caprolactone) threads for soft tissue repositioning of the
  face. Clinical, Cosmetic and Investigational Dermatology 2021;14:45-54,
  doi:10.2147/CCID.S274160 (PMC7812524), abstract: absorbable, with a
  well-defined degradation profile. We found no single duration that holds for
  every P(LA/CL) product, so the sheet says "a year or more, depending on the
  product" and sends the patient to the product's own figure. PCL: Deshpande
  MV, Girase A, King MW. Degradation of poly(ε-caprolactone) resorbable
  multifilament yarn under physiological conditions. Polymers 2023;15(18):3819,
  abstract: complete resorption typically 2 to 3 years.
- NSAIDS_SOURCES. Singapore Association of Plastic Surgeons, "Non-surgical face
  lift" (saps.org.sg/non-surgical-face-lift): avoid blood-thinning medication,
  anti-inflammatory drugs and herbal supplements, which increase bleeding,
  unless your doctor says otherwise. The Sharma Clinic, "After thread lift"
  (thesharmaclinic.com/blog/after-thread-lift), Post Care Medication: avoid
  aspirin and Advil (ibuprofen) for 14 days to prevent bruising; paracetamol
  (acetaminophen) for pain. These are a professional society's patient page
  and a clinic's leaflet; we found no trial of NSAIDs after thread lifts.
- SHAVING_SOURCE. The Sharma Clinic leaflet above, Wearing Makeup & Cleansing:
  do not rub the face when washing, shaving or drying for some days. The
  electric-razor advice is ours, from the same reasoning (no source found).
- SUN_SOURCE. IPAL Clinic, "Post-treatment instructions for threads"
  (ipalclinic.com/post-treatment-instructions-for-threads): avoid over-exposure
  to direct sunlight and do not use tanning beds for 2 weeks; the Sharma
  Clinic leaflet above: avoid direct sunlight and UV light for two weeks.
  Clinics' leaflets; no peer-reviewed source found.
- PCL_EARLY_SOURCE. None specific to PCL threads was found; the advice (firm,
  slowly absorbed threads felt under the skin early on; no pressing) follows
  the general advice above and the slow absorption in ABSORPTION_SOURCES.
- The warning signs (parotid injury, allergic reaction, skin blanching) are
  printed on every sheet: see treatments.aftercare.WARNING_SIGNS.
"""

from __future__ import annotations

from dataclasses import dataclass

from clinic.actors import Actor
from consultations.models import FacialArea
from treatments.models import (
    DEFAULT_RISKS,
    DIAGRAM_MM_PER_UNIT,
    AftercarePeriod,
    AftercareTemplate,
    ConsentTemplate,
    Depth,
    DiagramView,
    Material,
    ProtocolPreset,
    Side,
    ThreadProduct,
    ThreadType,
    ThreadVector,
)
from treatments.services import consent as consent_services
from treatments.services import plans as plan_services

# Right-side vectors (x below 0.5); the left side mirrors them. Placed on the planner's
# drawing (static/img/face-front.svg): ear front at x 0.22, nasolabial fold near x 0.4 from
# the nose base (y 0.58) down, jaw from (0.25, 0.65) to the chin (0.5, 0.85).
MIDFACE_RIGHT = [
    ((0.235, 0.29), (0.41, 0.58)),
    ((0.235, 0.33), (0.395, 0.63)),
    ((0.235, 0.37), (0.385, 0.68)),
    ((0.235, 0.41), (0.385, 0.74)),
]
JAWLINE_RIGHT = [
    ((0.24, 0.50), (0.32, 0.77)),
    ((0.25, 0.55), (0.38, 0.80)),
    ((0.26, 0.60), (0.44, 0.82)),
]
# name, description, area, (material, thread type) of the product it needs, right-side
# vectors, technique note. The product is the clinic's own: the first active product of
# that material and type whose threads fit the vectors (see install_protocol_presets).
PRESETS: list[tuple[str, str, str, tuple[str, str], list, str]] = [
    (
        "Midface lift, 4 cogs per side",
        "Four bidirectional PDO cogs per side from in front of the ear towards the "
        "nasolabial fold, subcutaneous.",
        FacialArea.MIDFACE,
        (Material.PDO, ThreadType.COG_BI),
        MIDFACE_RIGHT,
        "Enter in front of the ear at the temple; fixation towards the nasolabial fold.",
    ),
    (
        "Jawline definition, 3 cogs per side",
        "Three bidirectional PDO cogs per side from in front of the ear along the jowl, "
        "subcutaneous.",
        FacialArea.JAWLINE,
        (Material.PDO, ThreadType.COG_BI),
        JAWLINE_RIGHT,
        "Enter in front of the ear; keep above the mandibular border.",
    ),
]


# Aftercare instructions: (period, material, area, text). A blank material or area
# applies to every one. Positions follow the order listed within each period.
P = AftercarePeriod
AFTERCARE: list[tuple[str, str, str, str]] = [
    (
        P.FIRST_DAY,
        "",
        "",
        "Hold a cold pack wrapped in a clean cloth on the treated areas for 10 minutes at a "
        "time, several times today. It eases swelling and bruising.",
    ),
    (
        P.FIRST_DAY,
        "",
        "",
        "Do not wash the treated areas or wear make-up for 12 hours. After that, wash with "
        "lukewarm water and pat dry; do not rub.",
    ),
    (
        P.FIRST_DAY,
        "",
        "",
        # NSAIDS_SOURCES below: the sources we opened say 2 weeks, for bruising and bleeding.
        "For pain, take paracetamol as the packet says. For 2 weeks, avoid aspirin, ibuprofen "
        "and other anti-inflammatory painkillers, fish oil, vitamin E and ginkgo, unless a doctor "
        "told you to take them: they make bleeding and bruising worse. Avoid alcohol for 24 hours.",
    ),
    (
        P.FIRST_DAY,
        "",
        "",
        # SHAVING_SOURCE below.
        "Men: do not shave the treated areas today. For the first week shave gently, with the "
        "grain and without pressing or dragging the skin over the threads; an electric razor "
        "is kinder than a blade.",
    ),
    (
        P.FIRST_DAY,
        "",
        "",
        "Keep the small entry points clean and dry. Do not pick at any scabs.",
    ),
    (
        P.FIRST_DAY,
        "",
        FacialArea.NECK,
        "Keep your head upright today and avoid bending your neck sharply forwards.",
    ),
    (
        P.FIRST_NIGHTS,
        "",
        "",
        "Sleep on your back with your head raised on two pillows. Do not sleep on your side "
        "or face down: pressure can move the threads before they settle.",
    ),
    (
        P.FIRST_NIGHTS,
        "",
        "",
        "Do not rest your face on your hands, and take care when pulling clothes on over "
        "your head.",
    ),
    (
        P.FIRST_TWO_WEEKS,
        "",
        "",
        "Do not massage, rub or press on your face. Wash and apply skincare with light "
        "strokes only.",
    ),
    (
        P.FIRST_TWO_WEEKS,
        "",
        "",
        "Avoid opening your mouth very wide: no dental treatment, and take care with big "
        "bites, yawning and chewing gum.",
    ),
    (
        P.FIRST_TWO_WEEKS,
        "",
        "",
        "Avoid strenuous exercise, saunas, steam rooms, hot baths and swimming pools.",
    ),
    (
        P.FIRST_TWO_WEEKS,
        "",
        "",
        "Do not have facials, facial massage, microneedling, laser, radiofrequency or "
        "ultrasound treatments.",
    ),
    (
        P.FIRST_TWO_WEEKS,
        "",
        FacialArea.MIDFACE,
        "Try not to make big facial expressions such as wide smiles or laughing hard: they "
        "pull on the new threads in your cheeks.",
    ),
    (
        P.FIRST_TWO_WEEKS,
        "",
        FacialArea.BROW,
        "Do not wear tight hats, headbands or swimming goggles.",
    ),
    (
        P.FIRST_TWO_WEEKS,
        "",
        FacialArea.JAWLINE,
        "Avoid chewy or hard food (steak, crusty bread, toffee) and chew gently on both sides.",
    ),
    (
        P.FIRST_TWO_WEEKS,
        "",
        FacialArea.NECK,
        "Avoid turning your head sharply and wearing tight collars or scarves.",
    ),
    (
        P.FIRST_TWO_WEEKS,
        Material.PLLA,
        "",
        "You may feel small firm bumps where the cones hold: this is expected. Do not press "
        "or massage them; they soften over the coming weeks.",
    ),
    (
        P.FIRST_TWO_WEEKS,
        "",
        "",
        # SUN_SOURCE below.
        "Keep out of strong sun and do not use sunbeds: heat and ultraviolet light add to "
        "swelling and can leave dark marks on bruised skin. Wear a hat and SPF 30 or higher "
        "outdoors.",
    ),
    (
        P.FIRST_TWO_WEEKS,
        Material.PCL,
        "",
        # PCL_EARLY_SOURCE below: none specific to PCL was found.
        "PCL threads are firmer than other threads and dissolve slowly: you may feel them as "
        "firm lines under the skin for the first weeks. Do not press, massage or try to smooth "
        "them; tell the clinic if one becomes visible, red or sore.",
    ),
    (
        P.WEEKS_TWO_TO_FOUR,
        "",
        "",
        "You can return to gentle exercise. Build up gradually and stop if the treated "
        "areas feel sore.",
    ),
    (
        P.WEEKS_TWO_TO_FOUR,
        "",
        "",
        "You can use your usual skincare and make-up. Wait until four weeks have passed "
        "before any facial massage or facial treatment.",
    ),
    (
        P.WEEKS_TWO_TO_FOUR,
        "",
        "",
        "Tell your dentist you have threads in your face. Keep long appointments with "
        "your mouth held wide open until after the fourth week if you can.",
    ),
    (
        P.AFTER_A_MONTH,
        "",
        "",
        "Most restrictions end now. Other treatments (fillers, toxin, energy devices) can "
        "be planned with your practitioner.",
    ),
    (
        P.AFTER_A_MONTH,
        "",
        "",
        "Protect your skin from the sun every day with a broad-spectrum SPF 30 or higher.",
    ),
    (
        P.AFTER_A_MONTH,
        Material.PDO,
        "",
        "PDO threads dissolve gradually over about 6 to 8 months. The new collagen they "
        "stimulate keeps supporting the skin after that.",
    ),
    (
        P.AFTER_A_MONTH,
        Material.PLLA,
        "",
        "PLLA threads dissolve over about 12 to 18 months and keep stimulating collagen: "
        "the result builds up gradually over the first 3 months.",
    ),
    (
        P.AFTER_A_MONTH,
        Material.PCL,
        "",
        "PCL threads dissolve slowly, over about 2 years. The result builds up gradually "
        "as new collagen forms.",
    ),
    (
        P.AFTER_A_MONTH,
        Material.PLA_CL,
        "",
        # ABSORPTION_SOURCES below: no single figure for every P(LA/CL) product.
        "P(LA/CL) threads are absorbable: they dissolve gradually over a year or more, "
        "depending on the product (your practitioner can tell you the figure for yours). The "
        "new collagen they stimulate keeps supporting the skin after that.",
    ),
    (
        P.AFTER_A_MONTH,
        Material.OTHER,
        "",
        "Your threads dissolve gradually over the months ahead; how long depends on the "
        "product, and your practitioner can tell you the figure for yours.",
    ),
]


CONSENT_CODE = "thread-lift"
CONSENT_BODY = """\
I, {patient}, consent to {procedure} of the following areas: {areas}, using {products}, \
performed by {practitioner}.

The procedure has been explained to me: absorbable threads are placed under the skin through \
a fine needle or cannula, {anaesthesia}, to lift lax tissue and stimulate collagen. \
The threads dissolve over months; the lift is partial and temporary, and results vary from \
person to person. No particular result has been promised to me.

I have given a full and true medical history, including medicines, allergies, previous \
fillers, threads and facial surgery. I understand the risks listed below, each of which I \
have initialled, and that rare complications may need further treatment, including removal \
of threads. I have been told about the alternatives, including having no treatment.

I will follow the aftercare instructions I am given and contact the clinic about any warning \
sign. I have had the chance to ask questions and I am satisfied with the answers. I understand \
that I can withdraw my consent at any time before the treatment begins."""
CONSENT_ALTERNATIVES = (
    "No treatment.\n"
    "Dermal fillers, to restore volume rather than lift.\n"
    "Energy devices (radiofrequency, high-intensity focused ultrasound) to tighten the skin.\n"
    "A surgical facelift or neck lift, for a larger and longer-lasting result."
)


@dataclass
class InstalledContent:
    """What one installation created; `presets_waiting` need a product the clinic lacks."""

    consent_forms: int = 0
    aftercare: int = 0
    presets: int = 0
    presets_waiting: list[str] | None = None

    @property
    def created(self) -> int:
        return self.consent_forms + self.aftercare + self.presets


def install_consent_form(*, actor: Actor) -> int:
    """Publish the thread-lift consent form unless one is current; how many were published."""
    if ConsentTemplate.objects.filter(code=CONSENT_CODE, is_current=True).exists():
        return 0
    consent_services.publish_consent_template(
        code=CONSENT_CODE,
        title="Consent to a thread lift",
        body=CONSENT_BODY,
        risks=list(DEFAULT_RISKS),
        alternatives=CONSENT_ALTERNATIVES,
        actor=actor,
    )
    return 1


def install_aftercare() -> int:
    """Create the missing aftercare instructions; how many were created."""
    existing = set(AftercareTemplate.objects.values_list("period", "material", "area", "text"))
    positions: dict[str, int] = {}
    created = 0
    for period, material, area, text in AFTERCARE:
        position = positions[period] = positions.get(period, -1) + 1
        if (str(period), str(material), str(area), text) in existing:
            continue
        template = AftercareTemplate(
            period=period, material=material, area=area, text=text, position=position
        )
        template.full_clean()
        template.save()
        created += 1
    return created


def preset_vectors(
    area: str, product: ThreadProduct, right_side: list, notes: str
) -> list[dict[str, object]]:
    """Vectors in the planner's format: the right side as given, then the left mirrored."""
    vectors: list[dict[str, object]] = []
    for side, mirror in ((Side.RIGHT, False), (Side.LEFT, True)):
        for number, (entry, end) in enumerate(right_side):
            if mirror:
                entry, end = (1 - entry[0], entry[1]), (1 - end[0], end[1])
            vectors.append(
                {
                    "area": str(area),
                    "side": side.value,
                    "product": product.pk,
                    "count": 1,
                    "view": DiagramView.FRONT.value,
                    "entry": [round(entry[0], 3), round(entry[1], 3)],
                    "end": [round(end[0], 3), round(end[1], 3)],
                    "depth": Depth.SUBCUTANEOUS.value,
                    "notes": notes if number == 0 else "",
                }
            )
    return vectors


def _fits(product: ThreadProduct, right_side: list) -> bool:
    """Whether every vector is one the product can reach without wasting most of a thread."""
    for entry, end in right_side:
        drawn = ThreadVector(
            product=product, entry_x=entry[0], entry_y=entry[1], end_x=end[0], end_y=end[1]
        )
        if plan_services.vector_warnings(drawn, DIAGRAM_MM_PER_UNIT):
            return False
    return True


def product_for_preset(material: str, thread_type: str, right_side: list) -> ThreadProduct | None:
    """The clinic's first active product of that kind that fits the vectors, else the first."""
    candidates = list(
        ThreadProduct.objects.filter(is_active=True, material=material, thread_type=thread_type)
    )
    fitting = [product for product in candidates if _fits(product, right_side)]
    chosen = fitting or candidates
    return chosen[0] if chosen else None


def install_protocol_presets() -> tuple[int, list[str]]:
    """Create the missing presets; how many were created, and the names still waiting.

    A preset names a product, and a new clinic has none yet: a preset whose kind of
    product the clinic does not stock waits, and the next installation adds it.
    """
    created, waiting = 0, []
    for name, description, area, (material, thread_type), right_side, notes in PRESETS:
        if ProtocolPreset.objects.filter(name=name).exists():
            continue
        product = product_for_preset(material, thread_type, right_side)
        if product is None:
            kind = f"{Material(material).label} {ThreadType(thread_type).label.lower()}"
            waiting.append(f"{name} (needs a {kind} product)")
            continue
        vectors = preset_vectors(area, product, right_side, notes)
        plan_services.clean_vectors(vectors)  # the same check the admin and the planner make
        ProtocolPreset.objects.create(name=name, description=description, vectors=vectors)
        created += 1
    return created, waiting


def install_default_content(*, actor: Actor) -> InstalledContent:
    """Install whatever of the default clinical content is missing (idempotent)."""
    presets, waiting = install_protocol_presets()
    return InstalledContent(
        consent_forms=install_consent_form(actor=actor),
        aftercare=install_aftercare(),
        presets=presets,
        presets_waiting=waiting,
    )
