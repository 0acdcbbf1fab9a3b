from django.urls import path

from consultations.views import (
    appointments,
    calendar,
    consultations,
    medical_history,
    online_requests,
    patient_forms,
    patient_links,
    patients,
    photos,
)

app_name = "consultations"

urlpatterns = [
    path("patients/", patients.patient_list, name="patient_list"),
    path("patients/search/", patients.patient_search, name="patient_search"),
    path("patients/new/", patients.patient_create, name="patient_create"),
    path("patients/<int:pk>/", patients.patient_chart, name="patient_chart"),
    # Links sent to patients: the public page, and revoking one from the chart.
    path("p/<str:token>/", patient_links.patient_link, name="patient_link"),
    path(
        "patient-links/<int:pk>/revoke/",
        patient_links.patient_link_revoke,
        name="patient_link_revoke",
    ),
    path(
        "patients/<int:pk>/send-visit-forms/",
        patient_forms.send_visit_forms,
        name="send_visit_forms",
    ),
    path("patients/<int:pk>/edit/", patients.patient_edit, name="patient_edit"),
    path("patients/<int:pk>/archive/", patients.patient_archive, name="patient_archive"),
    path("patients/<int:pk>/restore/", patients.patient_restore, name="patient_restore"),
    path("patients/<int:pk>/intake/", medical_history.intake_form, name="intake_form"),
    path("patients/<int:pk>/intake/done/", medical_history.intake_done, name="intake_done"),
    path(
        "patients/<int:pk>/medical-history/",
        medical_history.history_list,
        name="medical_history_list",
    ),
    path(
        "medical-history/<int:pk>/", medical_history.history_detail, name="medical_history_detail"
    ),
    path("medical-history/<int:pk>/review/", patient_forms.history_review, name="history_review"),
    path("patients/<int:pk>/photos/", photos.photo_list, name="photo_list"),
    path("patients/<int:pk>/photos/upload/", photos.photo_upload, name="photo_upload"),
    path("patients/<int:pk>/photos/compare/", photos.photo_compare, name="photo_compare"),
    path("photos/<int:pk>/image/", photos.photo_image, name="photo_image"),
    path("photos/<int:pk>/thumbnail/", photos.photo_thumbnail, name="photo_thumbnail"),
    path("photos/<int:pk>/release/", photos.photo_release, name="photo_release"),
    path(
        "patients/<int:pk>/photo-consents/",
        photos.photography_consent_record,
        name="photography_consent_record",
    ),
    path(
        "photo-consents/<int:pk>/withdraw/",
        photos.photography_consent_withdraw,
        name="photography_consent_withdraw",
    ),
    # Booking and the calendar.
    path("calendar/", calendar.day_view, name="calendar_day"),
    path("calendar/week/", calendar.week_view, name="calendar_week"),
    path("appointments/new/", calendar.appointment_book, name="appointment_book"),
    path(
        "appointments/new/patients/",
        calendar.appointment_patient_lookup,
        name="appointment_patient_lookup",
    ),
    path("appointments/<int:pk>/move/", calendar.appointment_move, name="appointment_move"),
    path("appointments/today/", appointments.day_list, name="day_list"),
    path("appointments/<int:pk>/", appointments.appointment_detail, name="appointment_detail"),
    path(
        "appointments/<int:pk>/status/",
        appointments.appointment_status,
        name="appointment_status",
    ),
    path("appointments/<int:pk>/undo/", appointments.appointment_undo, name="appointment_undo"),
    path(
        "appointments/<int:pk>/reschedule/",
        appointments.appointment_reschedule,
        name="appointment_reschedule",
    ),
    path(
        "appointments/<int:pk>/appointment.ics",
        appointments.appointment_ics,
        name="appointment_ics",
    ),
    path("online-bookings/<int:pk>/", online_requests.online_request, name="online_request"),
    path("calendar/feed/", appointments.calendar_feed_settings, name="calendar_feed_settings"),
    path("calendar/feed/<str:token>.ics", appointments.calendar_feed, name="calendar_feed"),
    # Consultation and suitability screening.
    path(
        "patients/<int:pk>/consultations/new/",
        consultations.consultation_start,
        name="consultation_start",
    ),
    path(
        "appointments/<int:pk>/consultation/",
        consultations.consultation_for_appointment,
        name="consultation_for_appointment",
    ),
    path(
        "consultations/<int:pk>/",
        consultations.consultation_detail,
        name="consultation_detail",
    ),
    path(
        "consultations/<int:pk>/screening/",
        consultations.screening_new,
        name="screening_new",
    ),
    path("screenings/<int:pk>/", consultations.screening_detail, name="screening_detail"),
    path("screenings/<int:pk>/decision/", consultations.screening_decide, name="screening_decide"),
    path("screenings/<int:pk>/summary.pdf", consultations.screening_pdf, name="screening_pdf"),
]
