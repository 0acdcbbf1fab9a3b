from django.urls import path

from consultations.views import medical_history, patients, photos

app_name = "consultations"

urlpatterns = [
    path("patients/", patients.patient_list, name="patient_list"),
    path("patients/search/", patients.patient_search, name="patient_search"),
    path("patients/new/", patients.patient_create, name="patient_create"),
    path("patients/<int:pk>/", patients.patient_chart, name="patient_chart"),
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
    path("patients/<int:pk>/photos/", photos.photo_list, name="photo_list"),
    path("patients/<int:pk>/photos/upload/", photos.photo_upload, name="photo_upload"),
    path("patients/<int:pk>/photos/compare/", photos.photo_compare, name="photo_compare"),
    path("photos/<int:pk>/image/", photos.photo_image, name="photo_image"),
    path("photos/<int:pk>/thumbnail/", photos.photo_thumbnail, name="photo_thumbnail"),
]
