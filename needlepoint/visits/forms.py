"""Forms for the visit pages. A form of a write is built on that write's input (``visits/inputs.py``, the same the
API reads): its fields only draw the widgets, and ``clean`` reads the posted text with the input, so the page and
the API refuse the same values with the same messages; the action then checks what needs the database."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy
from pydantic import BaseModel

from needlepoint.visits.adverse_events import adverse_event_types, severities
from needlepoint.visits.inputs import (
    NEEDLE_INCIDENT_TYPE,
    AdverseEventInput,
    NeedleCountsInput,
    NeedlingEntryInput,
    StartVisitInput,
    parse,
)
from needlepoint.visits.models import Intervention, Outcome, Side, Technique, TwitchResponse
from needlepoint.visits.muscles import needling_muscles
from needlepoint.visits.needles import needle_stock

PAIN_CHOICES = [("", "–")] + [(str(n), str(n)) for n in range(11)]


class DateTimeInput(forms.DateTimeInput):
    """The browser's date-and-time picker, to the minute."""

    input_type = "datetime-local"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


class DateInput(forms.DateInput):
    """The browser's date picker."""

    input_type = "date"


def local_now() -> Any:
    """Now, in the clinic's time zone, to the minute (the default for date-time fields)."""
    return timezone.localtime().replace(second=0, microsecond=0)


class InputForm(forms.Form):
    """A form read by a write's input definition: after ``is_valid()``, ``parsed`` holds the input."""

    input_model: type[BaseModel]
    parsed: Any = None

    def clean(self) -> dict[str, Any]:
        """Read the posted values with the input; each refusal goes on its field."""
        cleaned = super().clean() or {}
        try:
            self.parsed = parse(self.input_model, {name: cleaned.get(name) for name in self.fields})
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                for message in messages:
                    self.add_error(field if field in self.fields else None, message)
        return cleaned


def _text(label: str, widget: Any = None, **kwargs: Any) -> forms.CharField:
    """A field whose value the input reads (so it refuses nothing itself)."""
    return forms.CharField(label=label, required=False, widget=widget or forms.TextInput, **kwargs)


class StartVisitForm(InputForm):
    """When the visit took place (now by default, earlier for late documentation)."""

    input_model = StartVisitInput
    started_at = _text("Date and time", DateTimeInput, initial=local_now)
    # Unticked: starting from the previous visit is the clinician's explicit choice, never a silent default.
    copy_previous = forms.BooleanField(label=gettext_lazy("Start from the previous visit's needling"), required=False)


class VisitDetailsForm(forms.Form):
    """Pain, report, other interventions, assessment and plan."""

    started_at = forms.DateTimeField(label=gettext_lazy("Date and time"), widget=DateTimeInput)
    pain_before = forms.TypedChoiceField(
        label=gettext_lazy("Pain before (0-10)"), choices=PAIN_CHOICES, coerce=int, empty_value=None, required=False
    )
    pain_after = forms.TypedChoiceField(
        label=gettext_lazy("Pain after (0-10)"), choices=PAIN_CHOICES, coerce=int, empty_value=None, required=False
    )
    subjective = forms.CharField(
        label=gettext_lazy("Subjective report"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    interventions = forms.MultipleChoiceField(
        label=gettext_lazy("Other interventions"),
        choices=Intervention.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    interventions_other = forms.CharField(label=gettext_lazy("Other (name it)"), max_length=200, required=False)
    assessment = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False, label=gettext_lazy("Assessment")
    )
    plan = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, label=gettext_lazy("Plan"))

    def __init__(self, *args: Any, draft_url: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The free text autosaves while typing (htmx, a pause of a second and a half), the pain scores as soon
        # as they are chosen, and the sign form carries them too ([data-free-text]), so nothing is lost and no
        # separate save click is needed.
        for name in ("subjective", "assessment", "plan", "pain_before", "pain_after"):
            attrs = self.fields[name].widget.attrs
            attrs["data-free-text"] = ""
            if draft_url:
                attrs |= {
                    "hx-post": draft_url,
                    "hx-trigger": "change" if name.startswith("pain") else "input changed delay:1500ms",
                    "hx-swap": "none",
                    "hx-sync": "closest main:queue all",
                }


def muscle_choices() -> list[tuple[str, Any]]:
    """Muscles grouped by region, for the needling form's select."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for muscle in needling_muscles().values():
        groups.setdefault(muscle.region or "Other", []).append((muscle.id, muscle.name))
    return [("", "Choose a muscle…"), *list(groups.items())]


def diameter_value(diameter_mm: Any) -> str:
    """A diameter as the gauge select's option value ("0.25"), whether it comes from the stock file (a
    float) or a stored entry (a Decimal), so a stored entry always matches its option."""
    return f"{Decimal(str(diameter_mm)):.2f}"


def length_value(length_mm: Any) -> str:
    """A length as the length select's option value: 30, 30.0 and Decimal("30.0") all give "30", 12.5
    gives "12.5". Formatting a stored Decimal("30.0") directly gave "30.0", which matched no option, and
    the form fell back to the first length (13 mm)."""
    return format(Decimal(str(length_mm)).normalize(), "f")


def diameter_choices() -> list[tuple[str, str]]:
    """The clinic's stocked needle diameters."""
    return [(diameter_value(d.diameter_mm), d.label) for d in needle_stock().diameters]


def length_choices() -> list[tuple[str, str]]:
    """The clinic's stocked needle lengths."""
    return [(length_value(n.length_mm), f"{length_value(n.length_mm)} mm") for n in needle_stock().lengths]


class NeedlingEntryForm(InputForm):
    """One muscle needled. Choices guide the clinician; ``NeedlingEntryInput`` refuses anything outside the data."""

    input_model = NeedlingEntryInput
    muscle_id = _text("Muscle", forms.Select)
    # A blank first choice: on a central or two-sided episode the clinician says which side, never a silent "Right".
    side = _text("Side", forms.Select(choices=[("", gettext_lazy("Choose…")), *Side.choices]))
    trigger_point = _text("Trigger point", forms.Select)
    needles = _text("Needles in", forms.NumberInput)
    diameter_mm = _text("Gauge", forms.Select)
    length_mm = _text("Length", forms.Select)
    technique = _text("Technique", forms.Select(choices=Technique.choices), initial=Technique.PISTONING)
    # "None" until the clinician records a twitch: a default of "single" put twitches on notes that saw none.
    twitch_response = _text("Local twitch", forms.Select(choices=TwitchResponse.choices), initial=TwitchResponse.NONE)
    minutes_left_in = _text("Minutes left in", forms.NumberInput)
    patient_response = _text("Patient's response", forms.TextInput(attrs={"maxlength": 300}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["muscle_id"].widget.choices = muscle_choices()
        self.fields["diameter_mm"].widget.choices = diameter_choices()
        self.fields["length_mm"].widget.choices = length_choices()
        self.fields["trigger_point"].widget.choices = [("", "–")]
        self.fields["muscle_id"].widget.attrs.update({"autofocus": True, "data-muscle": ""})
        self.fields["trigger_point"].widget.attrs.update({"data-trigger-point": ""})
        self.fields["needles"].widget.attrs.update({"min": 1, "inputmode": "numeric"})
        self.fields["minutes_left_in"].widget.attrs.update({"min": 1, "inputmode": "numeric"})
        if self.is_bound:
            chosen = self.data.get("muscle_id")
            muscle = needling_muscles().get(chosen or "")
            if muscle:
                self.fields["trigger_point"].widget.choices = [("", "–"), *muscle.trigger_points]


class CountsForm(InputForm):
    """Needles opened, removed and put in sharps."""

    input_model = NeedleCountsInput
    opened = _text("Opened", forms.NumberInput)
    removed = _text("Removed", forms.NumberInput)
    in_sharps = _text("In sharps", forms.NumberInput)


class IncidentForm(forms.Form):
    """A 'needle unaccounted for' incident."""

    needles_unaccounted = forms.IntegerField(label=gettext_lazy("Needles unaccounted for"))
    search_made = forms.CharField(label=gettext_lazy("Search made"), widget=forms.Textarea(attrs={"rows": 2}))
    action_taken = forms.CharField(label=gettext_lazy("Action taken"), widget=forms.Textarea(attrs={"rows": 2}))
    follow_up_due = forms.DateField(label=gettext_lazy("Follow up on"), widget=DateInput)


class AddendumForm(forms.Form):
    """A dated correction or addition to a signed note."""

    text = forms.CharField(label=gettext_lazy("Addendum"), widget=forms.Textarea(attrs={"rows": 3}))


def event_type_choices() -> list[tuple[str, str]]:
    """Adverse-event types from the catalogue (the needle incident has its own form)."""
    return [(t.code, t.label) for t in adverse_event_types() if t.code != NEEDLE_INCIDENT_TYPE]


def severity_choices() -> list[tuple[str, str]]:
    """Mild, significant, serious, each with its definition."""
    return [(s.code, f"{s.label}: {s.definition}") for s in severities()]


class AdverseEventForm(InputForm):
    """An adverse event after a visit."""

    input_model = AdverseEventInput
    event_type = _text("Type", forms.Select)
    severity = _text("Severity", forms.RadioSelect)
    description = _text("Description", forms.Textarea(attrs={"rows": 2}))
    onset_at = _text("Onset", DateTimeInput, initial=local_now)
    action_taken = _text("Action taken", forms.Textarea(attrs={"rows": 2}))
    outcome = _text("Outcome so far", forms.Select(choices=Outcome.choices))
    follow_up_due = _text("Follow up on", DateInput)
    observed_minutes = _text("Fainting: minutes observed after recovery", forms.NumberInput)
    driving_advice_given = forms.BooleanField(
        label=gettext_lazy("Fainting: advised no driving until fully recovered"), required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["event_type"].widget.choices = event_type_choices()
        self.fields["severity"].widget.choices = severity_choices()


class FollowUpForm(forms.Form):
    """A follow-up of an open adverse event."""

    note = forms.CharField(label=gettext_lazy("What was found"), widget=forms.Textarea(attrs={"rows": 2}))
    outcome = forms.ChoiceField(choices=Outcome.choices, label=gettext_lazy("Outcome"))
    next_follow_up_due = forms.DateField(label=gettext_lazy("Next follow-up"), widget=DateInput, required=False)
    close = forms.BooleanField(label=gettext_lazy("Close the event"), required=False)
    version = forms.IntegerField(widget=forms.HiddenInput)
