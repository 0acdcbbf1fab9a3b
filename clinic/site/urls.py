from django.urls import path

from clinic.site import privacy_views

app_name = "records"

urlpatterns = [
    path("patients/<int:pk>/export/", privacy_views.patient_export, name="patient_export"),
    path("patients/<int:pk>/erasure/", privacy_views.patient_erasure, name="patient_erasure"),
]
