"""Forms for the visit pages. They parse input into Python values; the actions check every rule."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils import timezone

from needlepoint.visits.adverse_events import adverse_event_types, severities
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


class StartVisitForm(forms.Form):
    """When the visit took place (now by default, earlier for late documentation)."""

    started_at = forms.DateTimeField(label="Date and time", widget=DateTimeInput, initial=local_now)
    # Unticked: starting from the previous visit is the clinician's explicit choice, never a silent default.
    copy_previous = forms.BooleanField(label="Start from the previous visit's needling", required=False)


class VisitDetailsForm(forms.Form):
    """Pain, report, other interventions, assessment and plan."""

    started_at = forms.DateTimeField(label="Date and time", widget=DateTimeInput)
    pain_before = forms.TypedChoiceField(
        label="Pain before (0-10)", choices=PAIN_CHOICES, coerce=int, empty_value=None, required=False
    )
    pain_after = forms.TypedChoiceField(
        label="Pain after (0-10)", choices=PAIN_CHOICES, coerce=int, empty_value=None, required=False
    )
    subjective = forms.CharField(label="Subjective report", widget=forms.Textarea(attrs={"rows": 3}), required=False)
    interventions = forms.MultipleChoiceField(
        label="Other interventions", choices=Intervention.choices, widget=forms.CheckboxSelectMultiple, required=False
    )
    interventions_other = forms.CharField(label="Other (name it)", max_length=200, required=False)
    assessment = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    plan = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)

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


class NeedlingEntryForm(forms.Form):
    """One muscle needled. Choices guide the clinician; the action refuses anything outside the data."""

    muscle_id = forms.CharField(label="Muscle", widget=forms.Select)
    # A blank first choice: on a central or two-sided episode the clinician says which side, never a silent "Right".
    side = forms.CharField(label="Side", required=False, widget=forms.Select(choices=[("", "Choose…"), *Side.choices]))
    trigger_point = forms.CharField(label="Trigger point", required=False, widget=forms.Select)
    needles = forms.IntegerField(label="Needles in")
    diameter_mm = forms.CharField(label="Gauge", widget=forms.Select)
    length_mm = forms.CharField(label="Length", widget=forms.Select)
    technique = forms.CharField(widget=forms.Select(choices=Technique.choices), initial=Technique.PISTONING)
    # "None" until the clinician records a twitch: a default of "single" put twitches on notes that saw none.
    twitch_response = forms.CharField(
        label="Local twitch", widget=forms.Select(choices=TwitchResponse.choices), initial=TwitchResponse.NONE
    )
    minutes_left_in = forms.IntegerField(label="Minutes left in", required=False)
    patient_response = forms.CharField(label="Patient's response", max_length=300, required=False)

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


class CountsForm(forms.Form):
    """Needles opened, removed and put in sharps."""

    opened = forms.IntegerField(label="Opened")
    removed = forms.IntegerField(label="Removed")
    in_sharps = forms.IntegerField(label="In sharps")


class IncidentForm(forms.Form):
    """A 'needle unaccounted for' incident."""

    needles_unaccounted = forms.IntegerField(label="Needles unaccounted for")
    search_made = forms.CharField(label="Search made", widget=forms.Textarea(attrs={"rows": 2}))
    action_taken = forms.CharField(label="Action taken", widget=forms.Textarea(attrs={"rows": 2}))
    follow_up_due = forms.DateField(label="Follow up on", widget=DateInput)


class AddendumForm(forms.Form):
    """A dated correction or addition to a signed note."""

    text = forms.CharField(label="Addendum", widget=forms.Textarea(attrs={"rows": 3}))


def event_type_choices() -> list[tuple[str, str]]:
    """Adverse-event types from the catalogue (the needle incident has its own form)."""
    return [(t.code, t.label) for t in adverse_event_types() if t.code != "needle_left_in"]


def severity_choices() -> list[tuple[str, str]]:
    """Mild, significant, serious, each with its definition."""
    return [(s.code, f"{s.label}: {s.definition}") for s in severities()]


class AdverseEventForm(forms.Form):
    """An adverse event after a visit."""

    event_type = forms.ChoiceField(label="Type", choices=event_type_choices)
    severity = forms.ChoiceField(choices=severity_choices, widget=forms.RadioSelect)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    onset_at = forms.DateTimeField(label="Onset", widget=DateTimeInput, initial=local_now)
    action_taken = forms.CharField(label="Action taken", widget=forms.Textarea(attrs={"rows": 2}))
    outcome = forms.ChoiceField(label="Outcome so far", choices=Outcome.choices)
    follow_up_due = forms.DateField(label="Follow up on", widget=DateInput, required=False)
    observed_minutes = forms.IntegerField(label="Fainting: minutes observed after recovery", required=False)
    driving_advice_given = forms.BooleanField(
        label="Fainting: advised no driving until fully recovered", required=False
    )


class FollowUpForm(forms.Form):
    """A follow-up of an open adverse event."""

    note = forms.CharField(label="What was found", widget=forms.Textarea(attrs={"rows": 2}))
    outcome = forms.ChoiceField(choices=Outcome.choices)
    next_follow_up_due = forms.DateField(label="Next follow-up", widget=DateInput, required=False)
    close = forms.BooleanField(label="Close the event", required=False)
    version = forms.IntegerField(widget=forms.HiddenInput)
