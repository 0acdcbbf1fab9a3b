"""The session's anaesthesia record, and the maximum-dose check for lidocaine.

A dose is concentration (% w/v) × 10 × volume (mL) in milligrams: 1% w/v is
10 mg/mL. The limits, for a single dose by infiltration in an adult:

- plain lidocaine: 4.5 mg/kg, at most 200 mg. Health Products Regulatory Authority
  (Ireland), Summary of Product Characteristics, Lidocaine Hydrochloride 2% w/v
  Solution for Injection, section 4.2 Posology ("Single doses of Lidocaine ... should
  not exceed 4.5 mg/kg (with a maximum of 200 mg) in adults or in adolescents"), read at
  https://docslib.org/doc/1485409/summary-of-product-characteristics. The BNF monograph
  for lidocaine hydrochloride, Indications and dose, infiltration anaesthesia (adult):
  "dose to be given according to patient's weight and nature of procedure; max. 200 mg,
  maximum dose 500 mg if given in solutions containing adrenaline", and, under doses
  at extremes of body-weight, weight-based doses calculated on ideal body-weight in
  obese patients. We read the BNF text as reproduced at
  https://drugibank.com/Drug/Detail/Lidocaine-hydrochloride(Lignocaine-hydrochloride);
  we could not open bnf.nice.org.uk itself.
- with adrenaline: 7 mg/kg, at most 500 mg. The 500 mg cap: Aspen, Summary of Product
  Characteristics, Lidocaine 1% with Adrenaline (Epinephrine) 1:200,000 solution for
  injection (updated 07 May 2023), section 4.2 ("The maximum single dose of lidocaine
  when given with adrenaline is 500 mg"),
  https://www.medicines.org.uk/emc/product/2397/smpc/print, and the BNF as above. The
  7 mg/kg: the US prescribing information for Lidocaine HCl and Epinephrine Injection
  USP, "Maximum recommended dosages", adult ("should be kept below 500 mg, and in any
  case, should not exceed 7 mg/kg (3.2 mg/lb) of body weight"), which we read only as
  quoted at https://www.recallguide.org/manufacturer/henry-schein-inc/; the UK SPC we
  opened gives the 500 mg cap but no per-kilogram figure.

These are ceilings, not targets: the SPCs ask for the lowest dose that works, and less
in the elderly, the debilitated and in hepatic or cardiac disease (clinical judgement,
not checked here). Only lidocaine (lignocaine) is checked; another agent is recorded
without a limit, and the record says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from treatments.models import Anaesthesia

LOCAL_ANAESTHESIA = (Anaesthesia.LOCAL, Anaesthesia.NERVE_BLOCK)
LIDOCAINE_NAMES = ("lidocaine", "lignocaine", "xylocaine")


@dataclass(frozen=True)
class DoseLimit:
    mg_per_kg: Decimal
    cap_mg: Decimal
    source: str


PLAIN_LIDOCAINE = DoseLimit(
    Decimal("4.5"), Decimal("200"), "lidocaine SPC section 4.2; BNF lidocaine hydrochloride"
)
LIDOCAINE_WITH_ADRENALINE = DoseLimit(
    Decimal("7"),
    Decimal("500"),
    "lidocaine with adrenaline SPC section 4.2; BNF lidocaine hydrochloride",
)


def dose_mg(*, concentration_percent: Decimal, volume_ml: Decimal) -> Decimal:
    """Milligrams given: a % w/v solution holds 10 × % mg in each millilitre."""
    return concentration_percent * 10 * volume_ml


def limit_mg(*, weight_kg: Decimal, with_adrenaline: bool) -> Decimal:
    limit = LIDOCAINE_WITH_ADRENALINE if with_adrenaline else PLAIN_LIDOCAINE
    return min(limit.mg_per_kg * weight_kg, limit.cap_mg)


def is_lidocaine(agent: str) -> bool:
    return any(name in agent.lower() for name in LIDOCAINE_NAMES)


def _figure(value: Decimal) -> str:
    return f"{value.normalize():f}"


def anaesthesia_problems(details: dict[str, Any]) -> list[str]:
    """What is missing from, or wrong with, the session's anaesthesia record.

    For local infiltration and nerve blocks: the agent, its concentration, the volume,
    whether it had adrenaline and the patient's weight, and for lidocaine a dose within
    the maximum for that weight. Topical and no anaesthesia need none of it.
    """
    if details.get("anaesthesia") not in LOCAL_ANAESTHESIA:
        return []
    agent = (details.get("anaesthetic_agent") or "").strip()
    concentration = details.get("anaesthetic_concentration_percent")
    volume = details.get("anaesthetic_volume_ml")
    adrenaline = details.get("with_adrenaline")
    weight = details.get("patient_weight_kg")
    missing = [
        label
        for label, value in [
            ("the agent", agent or None),
            ("its concentration (% w/v)", concentration),
            ("the volume (mL)", volume),
            ("whether it contained adrenaline", adrenaline),
            ("the patient's weight (kg)", weight),
        ]
        if value is None
    ]
    if missing or concentration is None or volume is None or weight is None or adrenaline is None:
        return ["For a local anaesthetic, record " + ", ".join(missing) + "."]
    if not is_lidocaine(agent):
        return []
    given = dose_mg(concentration_percent=concentration, volume_ml=volume)
    limit = limit_mg(weight_kg=weight, with_adrenaline=adrenaline)
    if given <= limit:
        return []
    rule = LIDOCAINE_WITH_ADRENALINE if adrenaline else PLAIN_LIDOCAINE
    return [
        f"Lidocaine dose {_figure(given)} mg ({_figure(concentration)}% × "
        f"{_figure(volume)} mL) is over the maximum of {_figure(limit)} mg for "
        f"{_figure(weight)} kg {'with' if adrenaline else 'without'} adrenaline "
        f"({_figure(rule.mg_per_kg)} mg/kg, at most {_figure(rule.cap_mg)} mg; "
        f"{rule.source})."
    ]
