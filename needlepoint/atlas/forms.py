"""Page forms for assessments and palpation findings. They parse input; the actions check it against the atlas."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.utils.translation import gettext, gettext_lazy

from needlepoint.atlas.models import Assessment, PalpationFinding

MAX_DRAWING_TEXT = 20_000


def parse_drawing_text(text: str) -> dict[str, Any]:
    """The drawing a page posts (JSON text) as a dict; an empty text is an empty drawing."""
    text = (text or "").strip()
    if not text:
        return {}
    if len(text) > MAX_DRAWING_TEXT:
        raise forms.ValidationError(gettext("The pain drawing is too large."))
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise forms.ValidationError(gettext("The pain drawing could not be read; mark the regions again.")) from exc
    if not isinstance(value, dict):
        raise forms.ValidationError(gettext("The pain drawing could not be read; mark the regions again."))
    return value


class DrawingField(forms.CharField):
    """A hidden field holding the drawing as JSON; cleans to a dict (checked further by the action)."""

    widget = forms.HiddenInput

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(required=False, strip=True, **kwargs)

    def clean(self, value: Any) -> dict[str, Any]:
        """The drawing as a dict (empty when nothing was posted)."""
        return parse_drawing_text(super().clean(value))


class AssessmentForm(forms.Form):
    """A new assessment: its kind, when, the drawing and notes."""

    kind = forms.ChoiceField(choices=Assessment.Kind.choices, label=gettext_lazy("Kind"))
    assessed_at = forms.DateTimeField(
        label=gettext_lazy("Assessed at"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=gettext_lazy("Leave empty for now."),
    )
    drawing = DrawingField()
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}), label=gettext_lazy("Notes"))


class DrawingUpdateForm(forms.Form):
    """A changed drawing and notes of an existing assessment, with the version they were made on."""

    drawing = DrawingField()
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}), label=gettext_lazy("Notes"))
    version = forms.IntegerField(widget=forms.HiddenInput)


class FindingForm(forms.Form):
    """A trigger point found on palpation. ``point`` ("muscle|trigger point") may stand for both of those fields."""

    muscle_id = forms.CharField(required=False, max_length=60, label=gettext_lazy("Muscle id"))
    trigger_point = forms.CharField(required=False, max_length=60, label=gettext_lazy("Trigger point"))
    point = forms.CharField(required=False, max_length=130, label=gettext_lazy("Point"))
    side = forms.ChoiceField(
        choices=[("", gettext_lazy("Choose…")), *PalpationFinding.Side.choices],
        required=False,
        label=gettext_lazy("Side"),
    )
    status = forms.ChoiceField(choices=PalpationFinding.Status.choices, required=False, label=gettext_lazy("Status"))
    twitch_response = forms.ChoiceField(
        label=gettext_lazy("Local twitch response"), choices=PalpationFinding.Twitch.choices, required=False
    )
    reproduces_familiar_pain = forms.BooleanField(label=gettext_lazy("Reproduces the familiar pain"), required=False)

    def finding_data(self) -> dict[str, Any]:
        """The cleaned values as the ``record_finding`` action takes them."""
        data = dict(self.cleaned_data)
        point = data.pop("point", "")
        if point:
            muscle_id, _, trigger_point = point.partition("|")
            data["muscle_id"], data["trigger_point"] = muscle_id, trigger_point
        return data
