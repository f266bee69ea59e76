"""Forms for the in-clinic safety events: the clean-technique checklist and needle-stick injuries to staff.
They parse input; the actions check every rule."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy

from needlepoint.visits.clinic_safety import packaged
from needlepoint.visits.forms import DateInput, DateTimeInput, local_now
from needlepoint.visits.models import NeedleStickSource, PepDecision, SourceConsent

NOT_YET = [("", "Not recorded yet")]


def checklist_choices() -> list[tuple[str, str]]:
    """The clean-technique items of the data file."""
    return [(i.code, i.label) for i in packaged().clean_technique]


class CleanTechniqueForm(forms.Form):
    """The checklist: every item at once ("all done", no items posted) or the items ticked."""

    items = forms.MultipleChoiceField(
        choices=checklist_choices, widget=forms.CheckboxSelectMultiple, required=False, label=gettext_lazy("Items")
    )
    gloves_worn = forms.TypedChoiceField(
        label=gettext_lazy("Gloves"),
        choices=[("yes", gettext_lazy("Worn")), ("no", gettext_lazy("Not used"))],
        coerce=lambda value: value == "yes",
        initial="yes",
    )
    partial = forms.BooleanField(required=False, widget=forms.HiddenInput)


class NeedleStickForm(forms.Form):
    """A needle-stick injury to a member of staff, with the protocol steps taken so far."""

    injured_id = forms.TypedChoiceField(
        label=gettext_lazy("Who was injured"), coerce=int, required=False, empty_value=None
    )
    occurred_at = forms.DateTimeField(label=gettext_lazy("When"), widget=DateTimeInput, initial=local_now)
    description = forms.CharField(label=gettext_lazy("How it happened"), widget=forms.Textarea(attrs={"rows": 2}))
    source_kind = forms.ChoiceField(
        label=gettext_lazy("The needle had been"), choices=NeedleStickSource.choices, widget=forms.RadioSelect
    )
    source_patient_mrn = forms.CharField(label=gettext_lazy("Source patient's MRN"), required=False, max_length=40)
    source_visit_id = forms.IntegerField(required=False, widget=forms.HiddenInput)
    source_consent = forms.ChoiceField(
        label=gettext_lazy("Source patient's decision on blood-borne virus testing"),
        choices=[("", gettext_lazy("Not asked yet")), *SourceConsent.choices],
        required=False,
    )
    source_consent_at = forms.DateTimeField(
        label=gettext_lazy("Decision recorded at"), widget=DateTimeInput, required=False
    )
    wound_washed_at = forms.DateTimeField(
        label=gettext_lazy("Wound washed with soap and water at"), widget=DateTimeInput, required=False
    )
    reported_at = forms.DateTimeField(
        label=gettext_lazy("Reported to the clinic lead at"), widget=DateTimeInput, required=False
    )
    reported_to = forms.CharField(label=gettext_lazy("Clinic lead reported to"), max_length=150, required=False)
    pep_decision = forms.ChoiceField(
        label=gettext_lazy("Post-exposure prophylaxis"), choices=[*NOT_YET, *PepDecision.choices], required=False
    )
    pep_decided_at = forms.DateTimeField(label=gettext_lazy("Decided at"), widget=DateTimeInput, required=False)
    follow_up_due = forms.DateField(label=gettext_lazy("Follow up on"), widget=DateInput)

    def __init__(self, *args: Any, staff: list[tuple[int, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        injured = self.fields["injured_id"]
        assert isinstance(injured, forms.ChoiceField)
        injured.choices = [("", "Me (the person recording)"), *(staff or [])]


class NeedleStickStepsForm(forms.Form):
    """Protocol steps taken since the incident was recorded, and a new follow-up date."""

    wound_washed_at = forms.DateTimeField(label=gettext_lazy("Wound washed at"), widget=DateTimeInput, required=False)
    reported_at = forms.DateTimeField(
        label=gettext_lazy("Reported to the clinic lead at"), widget=DateTimeInput, required=False
    )
    reported_to = forms.CharField(label=gettext_lazy("Clinic lead reported to"), max_length=150, required=False)
    source_consent = forms.ChoiceField(
        label=gettext_lazy("Source patient's decision on testing"),
        choices=[*NOT_YET, *SourceConsent.choices],
        required=False,
    )
    source_consent_at = forms.DateTimeField(
        label=gettext_lazy("Decision recorded at"), widget=DateTimeInput, required=False
    )
    pep_decision = forms.ChoiceField(
        label=gettext_lazy("Post-exposure prophylaxis"), choices=[*NOT_YET, *PepDecision.choices], required=False
    )
    pep_decided_at = forms.DateTimeField(label=gettext_lazy("Decided at"), widget=DateTimeInput, required=False)
    follow_up_due = forms.DateField(label=gettext_lazy("Next follow-up"), widget=DateInput, required=False)
    version = forms.IntegerField(widget=forms.HiddenInput)


class NeedleStickCloseForm(forms.Form):
    """Closing the incident once every step is recorded."""

    closing_note = forms.CharField(label=gettext_lazy("Follow-up outcome"), widget=forms.Textarea(attrs={"rows": 2}))
    version = forms.IntegerField(widget=forms.HiddenInput)
