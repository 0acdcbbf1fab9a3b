"""The public online booking pages (no sign-in): /book/<location>/…"""

from django.urls import path

from consultations.views import online_booking

app_name = "online_booking"

urlpatterns = [
    path("<int:location_id>/", online_booking.start, name="start"),
    path("<int:location_id>/times/", online_booking.times, name="times"),
    path("<int:location_id>/hold/", online_booking.hold, name="hold"),
    path("<int:location_id>/details/<str:reference>/", online_booking.details, name="details"),
    path("<int:location_id>/booked/<str:reference>/", online_booking.booked, name="booked"),
]
