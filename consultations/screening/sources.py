"""The published sources the screening rules cite, each one read before it was cited.

A source names what a reader needs to find and check it: authors, title, where
it was published, the year, the part that supports the rule (section, table,
page or "Abstract") and a link. Nothing here was filled in from memory: where a
field could not be read (an undated web monograph, chapter authors a page did
not show) it says so rather than guess. Rules with no specific source say that
in their own `source_note` (consultations.screening.rules).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Source:
    authors: str
    title: str
    published_in: str
    year: str
    locator: str
    url: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def citation(self) -> str:
        """One line as printed under a finding: authors. Title. Where, year; part. Link."""
        return citation_text(self.as_dict())


def citation_text(source: dict[str, Any]) -> str:
    """The printed citation of a stored source (a screening keeps sources as dicts)."""
    year = source.get("year") or "undated"
    authors = str(source.get("authors", "")).rstrip(".")
    text = f"{authors}. {source.get('title', '')}. "
    text += f"{source.get('published_in', '')}, {year}"
    if source.get("locator"):
        text += f"; {source['locator']}"
    text += "."
    if source.get("url"):
        text += f" {source['url']}"
    return text


NIU_2021 = Source(
    authors="Niu Z, Zhang K, Yao W, Li Y, Jiang W, Zhang Q, Troulis MJ, August M, Chen Y, Han Y",
    title="A Meta-Analysis and Systematic Review of the Incidences of Complications "
    "Following Facial Thread-Lifting",
    published_in="Aesthetic Plastic Surgery 45(5):2148-2158",
    year="2021",
    locator="Abstract, Results: patients older than 50 had more dimpling (16% vs 5.6%) and "
    "infection (5.9% vs 0.7%); satisfaction fell from 98% to 88% at 6 months",
    url="https://doi.org/10.1007/s00266-021-02256-w",
)

ADAMCZYK_2022 = Source(
    authors="Adamczyk K, Rusyan E, Franek E",
    title="Safety of Aesthetic Medicine Procedures in Patients with Autoimmune Thyroid "
    "Disease: A Literature Review",
    published_in="Medicina 58(1):30",
    year="2022",
    locator="Abstract and section 6, Lifting Threads: of seven procedure types only "
    "mesotherapy and lifting threads are not recommended in autoimmune thyroid disease",
    url="https://doi.org/10.3390/medicina58010030",
)

DEY_2015 = Source(
    authors="Dey JK, Ishii M, Phillis M, Byrne PJ, Boahene KDO, Ishii LE",
    title="Body Dysmorphic Disorder in a Facial Plastic and Reconstructive Surgery Clinic",
    published_in="JAMA Facial Plastic Surgery 17(2):137-143",
    year="2015",
    locator="Abstract: BDD in 13.1% of cosmetic patients; the BDDQ 100% sensitive and 90.3% "
    "specific; patients with BDD need psychiatric care, not cosmetic surgery",
    url="https://pubmed.ncbi.nlm.nih.gov/25654334/",
)

JOSEPH_2017 = Source(
    authors="Joseph AW, Ishii L, Joseph SS, et al.",
    title="Prevalence of Body Dysmorphic Disorder and Surgeon Diagnostic Accuracy in Facial "
    "Plastic and Oculoplastic Surgery Clinics",
    published_in="JAMA Facial Plastic Surgery",
    year="2017",
    locator="Abstract: BDD is a relative contraindication; 9.7% screened positive and surgeons "
    "recognised 2 of 43",
    url="https://pmc.ncbi.nlm.nih.gov/articles/PMC5543317",
)

CHILDREN_ACT_2021 = Source(
    authors="Parliament of the United Kingdom",
    title="Botulinum Toxin and Cosmetic Fillers (Children) Act 2021 (c. 19)",
    published_in="legislation.gov.uk",
    year="2021",
    locator="Section 1: offence to administer, in England, botulinum toxin or a cosmetic "
    "filler injection to a person under 18 (in force 1 October 2021); threads are not named",
    url="https://www.legislation.gov.uk/ukpga/2021/19/section/1",
)

CHILDREN_ACT_GUIDANCE = Source(
    authors="Department of Health and Social Care",
    title="Botulinum toxin and cosmetic fillers for under 18s: guidance for enforcement officers",
    published_in="GOV.UK",
    year="2021",
    locator="Summary, Key message (applies to England)",
    url="https://www.gov.uk/government/publications/"
    "botulinum-toxin-and-cosmetic-fillers-for-under-18s-guidance-for-enforcement-officers",
)

GILBERT_2000 = Source(
    authors="Gilbert S, McBurney E",
    title="Use of Valacyclovir for Herpes Simplex Virus-1 (HSV-1) Prophylaxis After Facial "
    "Resurfacing: A Randomized Clinical Trial of Dosing Regimens",
    published_in="Dermatologic Surgery 26(1):50-54",
    year="2000",
    locator="Abstract: valaciclovir 500 mg twice daily, started the morning before or the "
    "morning of resurfacing, prevented every HSV reactivation in 84 patients",
    url="https://pubmed.ncbi.nlm.nih.gov/10632686/",
)

KOEBNER_STATPEARLS = Source(
    authors="StatPearls Publishing (chapter authors not shown on the record read)",
    title="Koebner Phenomenon",
    published_in="StatPearls [Internet], Treasure Island (FL)",
    year="2024",
    locator="Definition/Introduction: new lesions of psoriasis or vitiligo appear at sites of "
    "skin injury, even trivial, including on the face",
    url="https://pubmed.ncbi.nlm.nih.gov/31971748/",
)

SPRING_2017 = Source(
    authors="Spring LK, Krakowski AC, Alam M, et al.",
    title="Isotretinoin and Timing of Procedural Interventions: A Systematic Review With "
    "Consensus Recommendations",
    published_in="JAMA Dermatology 153(8):802-809",
    year="2017",
    locator="Abstract: the 6-12 month wait rests on 3 small mid-1980s case series; insufficient "
    "evidence to delay cutaneous surgery and several skin procedures; mechanical "
    "dermabrasion and fully ablative laser not recommended",
    url="https://doi.org/10.1001/jamadermatol.2017.2077",
)

UKCPA_ASPIRIN = Source(
    authors="UK Clinical Pharmacy Association",
    title="Handbook of Perioperative Medicines: Aspirin",
    published_in="UKCPA Handbook of Perioperative Medicines (online monograph)",
    year="",
    locator="Advice in the perioperative period: as an antiplatelet at 150 mg or less, "
    "continue; for analgesia, consider stopping 7 days before and using another painkiller",
    url="https://periop-handbook.ukclinicalpharmacy.org/drug/aspirin/",
)

UKCPA_NSAIDS = Source(
    authors="UK Clinical Pharmacy Association",
    title="Handbook of Perioperative Medicines: Non-Steroidal Anti-inflammatory Drugs "
    "(NSAIDs) including COX-2 Selective Inhibitors",
    published_in="UKCPA Handbook of Perioperative Medicines (online monograph)",
    year="",
    locator="Issues for surgery (standard NSAIDs raise bleeding risk if continued) and Advice "
    "in the perioperative period (low bleeding risk: continue; if stopped, short-acting "
    "NSAIDs 1 day before)",
    url="https://www.ukcpa-periophandbook.co.uk/medicine-monographs/"
    "non-steroidal-anti-inflammatory-drugs-nsaids-including-cyclo-oxygenase-2-cox-2-selective-"
    "inhibitors",
)

WONG_2012 = Source(
    authors="Wong WW, Gabriel A, Maxwell GP, Gupta SC",
    title="Bleeding Risks of Herbal, Homeopathic, and Dietary Supplements: A Hidden Nightmare "
    "for Plastic Surgeons?",
    published_in="Aesthetic Surgery Journal 32(3):332-346",
    year="2012",
    locator="Abstract: 19 herbs and several supplements can cause bleeding around surgery; "
    "surgeons must screen every patient for them and explain the dangers",
    url="https://lomalinda.elsevierpure.com/en/publications/"
    "bleeding-risks-of-herbal-homeopathic-and-dietary-supplements-a-hi-4",
)

ACE_VACCINE_FILLER = Source(
    authors="King M, for the Aesthetic Complications Expert (ACE) Group World",
    title="The Impact of SARS-CoV-2 Vaccination and Infection on Soft Tissue Fillers",
    published_in="ACE Group World guidelines, as reported by Aesthetics Journal",
    year="",
    locator="Minimising the risk: no soft-tissue filler in the 2 weeks before or 3 weeks after "
    "a COVID-19 vaccination (filler guidance; threads are not discussed)",
    url="https://aestheticsjournal.com/news/ace-group-releases-guidance-on-dermal-fillers-and-"
    "covid-19",
)

SORENSEN_2012 = Source(
    authors="Sørensen LT",
    title="Wound Healing and Infection in Surgery: The Clinical Impact of Smoking and Smoking "
    "Cessation: A Systematic Review and Meta-analysis",
    published_in="Archives of Surgery 147(4):373-383",
    year="2012",
    locator="Abstract, Data synthesis: smokers had more surgical site infection (adjusted OR "
    "1.79) and healing delay (OR 2.07); stopping smoking reduced infections (OR 0.43)",
    url="https://doi.org/10.1001/archsurg.2012.5",
)

BERTOSSI_2018 = Source(
    authors="Bertossi D, Botti G, Gualdi A, Fundarò P, Nocini R, Pirayesh A, van der Lei B",
    title="Effectiveness, Longevity, and Complications of Facelift by Barbed Suture Insertion",
    published_in="Aesthetic Surgery Journal",
    year="2018",
    locator="Abstract: in 160 patients the lift declined by 6 months and was gone by 1 year; "
    "the authors limit threads to patients with contraindications to more invasive surgery",
    url="https://doi.org/10.1093/asj/sjy042",
)
