from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from simple_history.admin import SimpleHistoryAdmin

from clinic.actors import Actor
from treatments.models import (
    AftercareTemplate,
    ConsentTemplate,
    ProtocolPreset,
    StockLot,
    ThreadProduct,
)
from treatments.services.consent import publish_consent_template
from treatments.services.plans import clean_vectors


@admin.register(ThreadProduct)
class ThreadProductAdmin(SimpleHistoryAdmin):
    list_display = [
        "name",
        "manufacturer",
        "material",
        "thread_type",
        "gauge",
        "thread_length_mm",
        "delivery",
        "absorption_months",
        "unit_price",
        "reorder_level",
        "is_active",
    ]
    list_filter = ["material", "thread_type", "delivery", "is_active"]
    search_fields = ["name", "manufacturer"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # Plans and sessions name their products: retire instead.


@admin.register(StockLot)
class StockLotAdmin(SimpleHistoryAdmin):
    """Read-only here: lots are received on the Stock page and used by sessions; their
    status changes on the lot's page, which keeps the history."""

    list_display = ["lot_number", "product", "location", "expires_on", "quantity_on_hand", "status"]
    list_filter = ["location", "product", "status"]
    search_fields = ["lot_number"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ProtocolPresetForm(forms.ModelForm):
    class Meta:
        model = ProtocolPreset
        fields = ["name", "description", "vectors", "is_active"]

    def clean_vectors(self):
        vectors = self.cleaned_data["vectors"]
        try:
            clean_vectors(vectors)
        except ValidationError as error:
            raise ValidationError(error.messages) from None
        return vectors


@admin.register(ProtocolPreset)
class ProtocolPresetAdmin(SimpleHistoryAdmin):
    form = ProtocolPresetForm
    list_display = ["name", "description", "is_active"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ConsentTemplateForm(forms.ModelForm):
    risks_text = forms.CharField(
        label="Risks", widget=forms.Textarea, help_text="One risk per line; each is initialled."
    )

    class Meta:
        model = ConsentTemplate
        fields = ["code", "title", "body", "alternatives"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["risks_text"] = "\n".join(self.instance.risks)

    def validate_unique(self):
        pass  # every save publishes a new version (see save_model)


@admin.register(ConsentTemplate)
class ConsentTemplateAdmin(admin.ModelAdmin):
    """Saving publishes a new version; signed consents keep the wording they were shown."""

    form = ConsentTemplateForm
    list_display = ["title", "code", "version", "is_current", "created_at"]
    list_filter = ["code", "is_current"]

    def save_model(self, request, obj, form, change):
        published = publish_consent_template(
            code=form.cleaned_data["code"],
            title=form.cleaned_data["title"],
            body=form.cleaned_data["body"],
            risks=form.cleaned_data["risks_text"].splitlines(),
            alternatives=form.cleaned_data["alternatives"],
            actor=Actor.from_request(request),
        )
        obj.pk = published.pk
        obj._state.adding = False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AftercareTemplate)
class AftercareTemplateAdmin(SimpleHistoryAdmin):
    list_display = ["period", "material", "area", "text", "is_active"]
    list_filter = ["period", "material", "area", "is_active"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
