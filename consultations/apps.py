from django.apps import AppConfig


class ConsultationsConfig(AppConfig):
    name = "consultations"

    def ready(self) -> None:
        from consultations import patient_links
        from consultations.models import LinkPurpose
        from consultations.views.manage_booking import manage_booking

        # The "manage your booking" link sent with an online booking's confirmation.
        patient_links.register_page(LinkPurpose.BOOKING, manage_booking)
