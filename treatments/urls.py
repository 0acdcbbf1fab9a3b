from django.urls import path

from treatments.views import (
    consent,
    documents,
    outcomes,
    plans,
    printing,
    recalls,
    sessions,
    stock,
)

app_name = "treatments"

urlpatterns = [
    path("patients/<int:pk>/plans/", plans.plan_list, name="plan_list"),
    path("plans/<int:pk>/", plans.planner, name="planner"),
    path("plans/<int:pk>/vectors/", plans.plan_save, name="plan_save"),
    path("plans/<int:pk>/status/", plans.plan_status, name="plan_status"),
    path("plans/<int:pk>/revise/", plans.plan_revise, name="plan_revise"),
    path("plans/<int:pk>/calibrate/", plans.plan_calibrate, name="plan_calibrate"),
    path("plans/<int:pk>/summary.pdf", documents.plan_pdf, name="plan_pdf"),
    path("stock/", stock.stock_overview, name="stock_overview"),
    path("stock/receive/", stock.receive_lot, name="receive_lot"),
    path("stock/trace/", stock.lot_trace, name="lot_trace"),
    path("stock/lots/<int:pk>/", recalls.lot_detail, name="lot_detail"),
    path("stock/lots/<int:pk>/status/", recalls.lot_status, name="lot_status"),
    path("stock/lots/<int:pk>/recall/", recalls.recall_open, name="recall_open"),
    path("recalls/<int:pk>/", recalls.recall_detail, name="recall_detail"),
    path("recalls/<int:pk>/contacts/", recalls.recall_contact, name="recall_contact"),
    path("recalls/<int:pk>/notify/", recalls.recall_notify, name="recall_notify"),
    path("recalls/<int:pk>/patients.csv", recalls.recall_csv, name="recall_csv"),
    path("plans/<int:pk>/consent/", consent.consent_sign, name="consent_sign"),
    path("consents/<int:pk>/", consent.consent_detail, name="consent_detail"),
    path("consents/<int:pk>/withdraw/", consent.consent_withdraw, name="consent_withdraw"),
    path("appointments/<int:pk>/session/", sessions.session_start, name="session_start"),
    path("sessions/<int:pk>/", sessions.session_detail, name="session_detail"),
    path("sessions/<int:pk>/complete/", sessions.session_complete, name="session_complete"),
    path("sessions/<int:pk>/addenda/", sessions.session_addendum, name="session_addendum"),
    path("consents/<int:pk>/consent.pdf", printing.consent_pdf, name="consent_pdf"),
    path("sessions/<int:pk>/aftercare.pdf", printing.aftercare_pdf, name="aftercare_pdf"),
    path("aftercare/today.pdf", printing.aftercare_day_pdf, name="aftercare_day_pdf"),
    path("sessions/<int:pk>/reviews/new/", outcomes.outcome_new, name="outcome_new"),
    path(
        "sessions/<int:pk>/adverse-events/new/",
        outcomes.adverse_event_new,
        name="adverse_event_new",
    ),
    path("reports/adverse-events/", outcomes.adverse_event_report, name="adverse_event_report"),
]
