from django.apps import AppConfig


class TreatmentsConfig(AppConfig):
    name = "treatments"

    def ready(self) -> None:
        # The chart (consultations) may not import treatments: treatments hands in its
        # entries instead (consultations.timeline says why).
        from consultations.models import LinkPurpose
        from consultations.patient_links import register_page
        from consultations.timeline import register_timeline_source
        from treatments.timeline import treatment_entries
        from treatments.views.check_ins import check_in_page
        from treatments.views.consent_reading import consent_reading_page

        register_timeline_source(treatment_entries)

        # The pages behind the one public patient link (consultations.patient_links):
        # the consent sent to read at home, and the check-in after a session.
        register_page(LinkPurpose.CONSENT_READING, consent_reading_page)
        register_page(LinkPurpose.CHECK_IN, check_in_page)
