"""Printed documents on the large clinic, as ratios to a plain one-page PDF.

Aims: plan summary within 2×, aftercare sheet within 1.5×, consent copy within 3×;
the front desk's merged print of 20 aftercare sheets is reported as measured.
"""

from bench.timing import Result, summarise, time_calls
from clinic.pdf import render_documents
from treatments.documents import AftercareSheet, ConsentCopy, PlanSummaryDocument
from treatments.models import SignedConsent, TreatmentPlan, TreatmentSession


def run(runs: int) -> list[Result]:
    plan = TreatmentPlan.objects.filter(vectors__isnull=False).first()
    session = TreatmentSession.objects.filter(completed_at__isnull=False).first()
    consent = SignedConsent.objects.first()
    sessions = list(TreatmentSession.objects.filter(completed_at__isnull=False)[:20])
    pdf_runs = max(runs // 2, 10)
    return [
        summarise(
            "plan summary PDF",
            time_calls(lambda: PlanSummaryDocument(plan).render(), runs=pdf_runs),
            floor="pdf",
            target="within 2× the plain PDF",
        ),
        summarise(
            "aftercare sheet PDF",
            time_calls(lambda: AftercareSheet(session).render(), runs=pdf_runs),
            floor="pdf",
            target="within 1.5× the plain PDF",
        ),
        summarise(
            "consent copy PDF",
            time_calls(lambda: ConsentCopy(consent).render(), runs=pdf_runs),
            floor="pdf",
            target="within 3× the plain PDF",
        ),
        summarise(
            "day print, 20 aftercare sheets",
            time_calls(
                lambda: render_documents([AftercareSheet(s) for s in sessions]), runs=3, warmup=1
            ),
            floor="pdf",
            target="reported",
        ),
    ]
