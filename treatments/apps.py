from django.apps import AppConfig


class TreatmentsConfig(AppConfig):
    name = "treatments"

    def ready(self) -> None:
        # The chart (consultations) may not import treatments: treatments hands in its
        # entries instead (consultations.timeline says why).
        from consultations.timeline import register_timeline_source
        from treatments.timeline import treatment_entries

        register_timeline_source(treatment_entries)
