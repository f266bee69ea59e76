"""Forms of the appointment pages. They parse input into Python values; the actions check every rule."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext, gettext_lazy

from needlepoint.scheduling.calendar import clinicians
from needlepoint.scheduling.config import BookSettings
from needlepoint.web import choice_field

REPEAT_CHOICES = [("1", gettext_lazy("Once"))] + [
    (str(n), format_lazy(gettext_lazy("{} times"), n)) for n in range(2, 13)
]
EVERY_CHOICES = [("1", "every week"), ("2", "every 2 weeks"), ("3", "every 3 weeks"), ("4", "every 4 weeks")]


class BookingForm(forms.Form):
    """Who, with whom, what, when and how long; optionally repeated weekly."""

    patient = forms.IntegerField(widget=forms.HiddenInput)
    clinician = forms.ChoiceField(label=gettext_lazy("Clinician"))
    kind = forms.ChoiceField(label=gettext_lazy("Type"))
    day = forms.DateField(label=gettext_lazy("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    start = forms.TimeField(
        label=gettext_lazy("Time"), widget=forms.TimeInput(attrs={"type": "time", "step": 300}, format="%H:%M")
    )
    minutes = forms.TypedChoiceField(label=gettext_lazy("Length"), coerce=int)
    repeat = forms.TypedChoiceField(label=gettext_lazy("Repeat"), choices=REPEAT_CHOICES, coerce=int, initial=1)
    every_weeks = forms.TypedChoiceField(
        label=gettext_lazy("Interval"), choices=EVERY_CHOICES, coerce=int, initial=1, required=False
    )

    def __init__(self, *args: Any, clinic_id: int, offered: BookSettings, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.clinician_names = {str(m.pk): m.user.get_full_name() or m.user.username for m in clinicians(clinic_id)}
        choice_field(self, "clinician").choices = list(self.clinician_names.items())
        choice_field(self, "kind").choices = [(t.code, f"{t.label} ({t.minutes} min)") for t in offered.types]
        lengths = sorted({m for t in offered.types for m in t.lengths})
        choice_field(self, "minutes").choices = [("", gettext("the type's usual"))] + [
            (str(m), gettext("%(minutes)s minutes") % {"minutes": m}) for m in lengths
        ]
        self.fields["minutes"].required = False

    def booking(self) -> dict[str, Any]:
        """The cleaned form as the booking action reads it."""
        data = self.cleaned_data
        starts_at = timezone.make_aware(datetime.combine(data["day"], data["start"]))
        return {
            "clinician": data["clinician"],
            "kind": data["kind"],
            "starts_at": starts_at,
            "minutes": data.get("minutes") or None,
        }


class StatusForm(forms.Form):
    """A status change: arrived, back to booked, no-show or cancelled (with the reason)."""

    status = forms.CharField(label=gettext_lazy("Status"))
    reason = forms.CharField(required=False, max_length=300, label=gettext_lazy("Reason"))
    version = forms.IntegerField(required=False, label=gettext_lazy("Version"))
