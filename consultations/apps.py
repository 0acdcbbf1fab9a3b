from django.apps import AppConfig


class ConsultationsConfig(AppConfig):
    name = "consultations"

    def ready(self) -> None:
        # The pages a patient opens from a link: the public URL dispatches by purpose.
        from consultations import patient_links
        from consultations.models import LinkPurpose
        from consultations.views import booking_page, patient_forms

        patient_links.register_page(LinkPurpose.MEDICAL_HISTORY, patient_forms.medical_history_page)
        patient_links.register_page(LinkPurpose.BODY_IMAGE, patient_forms.body_image_page)
        patient_links.register_page(LinkPurpose.BOOKING, booking_page.booking_page)
