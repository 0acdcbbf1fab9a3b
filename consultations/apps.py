from django.apps import AppConfig


class ConsultationsConfig(AppConfig):
    name = "consultations"

    def ready(self) -> None:
        # The one public link URL hands a booking link to its page (consultations.patient_links).
        from consultations.models import LinkPurpose
        from consultations.patient_links import register_page
        from consultations.views.booking_page import booking_page

        register_page(LinkPurpose.BOOKING, booking_page)
