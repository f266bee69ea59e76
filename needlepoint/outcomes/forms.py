"""Forms for the outcome pages. A questionnaire form is built from the instrument's data file; the actions
re-check every answer with the instrument's published rules, so the form only carries text."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy
from django.utils.translation import gettext as _

from needlepoint.outcomes.models import RomMeasurement, TimePoint
from needlepoint.outcomes.rom import movements
from needlepoint.outcomes.scoring import Instrument, Item, plain_number
from needlepoint.outcomes.wording import EnteredWording, item_text
from needlepoint.web import choice_field

CLINICIAN_TIME_POINTS = TimePoint.choices
LINK_TIME_POINTS = [(v, label) for v, label in TimePoint.choices if v != TimePoint.VISIT]
LARGE_SCALE = 20  # a 0-N item with more steps than this is typed, not tapped (MIDAS day counts)


class DateInput(forms.DateInput):
    """A browser date picker."""

    input_type = "date"


class TimeInput(forms.TimeInput):
    """A browser time picker."""

    input_type = "time"


def item_choices(item: Item, texts: tuple[str, ...] = ()) -> list[tuple[str, str]] | None:
    """Radio choices for an item (each option's printed value, or each whole number), or None when it is typed.

    ``texts`` are the option texts to show (the clinic's licensed wording); the value posted is the value the
    form prints beside the option, read back by ``answers.read_answer`` like any other answer.
    """
    if item.kind == "choice":
        shown = texts if len(texts) == len(item.options) else tuple(o.label for o in item.options)
        return [(plain_number(o.printed), text) for o, text in zip(item.options, shown, strict=True)]
    if item.kind == "numeric" and int(item.maximum - item.minimum) <= LARGE_SCALE:
        return [(str(n), str(n)) for n in range(int(item.minimum), int(item.maximum) + 1)]
    return None


def item_fields(
    defn: Instrument,
    prefix: str = "",
    notes: dict[str, str] | None = None,
    entered: EnteredWording | None = None,
    language: str = "en",
) -> dict[str, forms.Field]:
    """One field per item, named ``prefix + item id``: radios for choices and short scales, else a number box.

    ``entered`` is the clinic's licensed wording, shown instead of the topic labels. Items of a
    patient-chosen activity (PSFS) get a text field ``<name>__note`` for the activity.
    """
    fields: dict[str, forms.Field] = {}
    for item in defn.items:
        shown = item_text(defn, item, entered, language)
        label = shown.text
        help_parts = []
        if shown.anchors:
            help_parts.append(" · ".join(f"{k} = {v}" for k, v in sorted(shown.anchors.items())))
        choices = item_choices(item, shown.options)
        widget: forms.Widget
        if choices is not None:
            widget = forms.RadioSelect(choices=choices, attrs={"class": "scale" if item.kind == "numeric" else ""})
        else:
            step = "any" if item.kind == "measurement" else "1"
            widget = forms.NumberInput(
                attrs={"step": step, "min": str(float(item.minimum)), "max": str(float(item.maximum))}
            )
            help_parts.append(
                _("%(low)s to %(high)s") % {"low": f"{float(item.minimum):g}", "high": f"{float(item.maximum):g}"}
            )
        name = prefix + item.id
        if defn.code == "PSFS":
            given = (notes or {}).get(item.id, "")
            fields[name + "__note"] = forms.CharField(
                label=gettext("%(item)s: what activity?") % {"item": item.label},
                max_length=120,
                required=False,
                initial=given,
                widget=forms.TextInput(attrs={"placeholder": gettext("e.g. lifting my child")}),
            )
        fields[name] = forms.CharField(label=label, required=False, widget=widget, help_text=" — ".join(help_parts))
    return fields


def scored_statements(defn: Instrument, entered: EnteredWording | None = None) -> dict[str, str] | None:
    """How many statements each item's licensed form prints and the scores of the first and last, where the form
    shows the scores themselves because no statement text is shipped or entered (the NDI and ODI without the
    clinic's wording); None otherwise."""
    for item in defn.items:
        labels = tuple(o.label for o in item.options)
        if item.options_are_scores() and item_text(defn, item, entered).options == labels:
            first, last = item.options[0].printed, item.options[-1].printed
            return {"number": str(len(labels)), "first": plain_number(first), "last": plain_number(last)}
    return None


def notes_from(defn: Instrument, data: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """The activity notes posted beside a PSFS form."""
    if defn.code != "PSFS":
        return {}
    return {item.id: str(data.get(prefix + item.id + "__note") or "") for item in defn.items}


class WhenForm(forms.Form):
    """When a measure was taken, and at which time point of the episode."""

    time_point = forms.ChoiceField(choices=CLINICIAN_TIME_POINTS, label=gettext_lazy("Time point"))
    observed_on = forms.DateField(label=gettext_lazy("Date"), widget=DateInput)
    observed_time = forms.TimeField(label=gettext_lazy("Time (optional)"), required=False, widget=TimeInput)

    def observed_at(self) -> datetime:
        """The date and time as an aware datetime: now for today without a time, else noon."""
        day = self.cleaned_data["observed_on"]
        moment = self.cleaned_data.get("observed_time")
        if moment is None:
            if day == timezone.localdate():
                return timezone.now()
            moment = time(12, 0)
        return timezone.make_aware(datetime.combine(day, moment))


class QuestionnaireForm(WhenForm):
    """A questionnaire built from its instrument file, with the time point and date it was taken."""

    source = forms.ChoiceField(
        choices=[
            ("clinician", gettext_lazy("Clinician (in the clinic)")),
            ("patient", gettext_lazy("Patient filled in a paper form")),
        ],
        initial="clinician",
        label=gettext_lazy("Answered by"),
    )

    def __init__(
        self,
        defn: Instrument,
        *args: Any,
        notes: dict[str, str] | None = None,
        entered: EnteredWording | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.defn = defn
        self.fields.update(item_fields(defn, notes=notes, entered=entered))
        self.scored_statements = scored_statements(defn, entered)

    def raw_answers(self) -> dict[str, str]:
        """The posted text per item id."""
        return {item.id: self.data.get(item.id, "") for item in self.defn.items}

    def item_fields(self) -> list[forms.BoundField]:
        """Item fields in order (with the PSFS activity fields before their ratings)."""
        return [
            self[name] for name in self.fields if name not in ("time_point", "observed_on", "observed_time", "source")
        ]


def movement_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """Joint movements grouped by joint, values 'joint:movement'."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for move in movements():
        joint = move.joint.replace("_", " ").capitalize()
        groups.setdefault(joint, []).append((f"{move.joint}:{move.movement}", f"{joint} {move.label.lower()}"))
    return list(groups.items())


class RomForm(WhenForm):
    """One range-of-motion measurement."""

    movement = forms.ChoiceField(label=gettext_lazy("Joint and movement"), choices=movement_choices)
    side = forms.ChoiceField(
        choices=[
            ("", gettext_lazy("Not sided (spine flexion/extension)")),
            ("left", gettext_lazy("Left")),
            ("right", gettext_lazy("Right")),
        ],
        required=False,
        label=gettext_lazy("Side"),
    )
    degrees = forms.FloatField(
        label=gettext_lazy("Degrees"), widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"})
    )
    method = forms.ChoiceField(choices=RomMeasurement.Method.choices, label=gettext_lazy("Method"))

    field_order = ["movement", "side", "degrees", "method", "time_point", "observed_on", "observed_time"]


SEND_CHANNELS = [
    ("email", "By e-mail"),
    ("sms", "By text message"),
    ("copy", "Show the link here, to hand over or copy"),
]


class LinkForm(forms.Form):
    """Send a self-report link: the episode, time point, how long it stays valid, and how it goes out."""

    time_point = forms.ChoiceField(choices=LINK_TIME_POINTS, label=gettext_lazy("Time point"))
    days = forms.IntegerField(label=gettext_lazy("Valid for (days)"), min_value=1, max_value=30, initial=7)
    channel = forms.ChoiceField(
        label=gettext_lazy("Send"), choices=SEND_CHANNELS, widget=forms.RadioSelect, initial="copy", required=False
    )
    readable_only = forms.BooleanField(
        label=gettext_lazy("Only what the patient can read"),
        required=False,
        help_text=gettext_lazy(
            "Leave out the questionnaires without wording the patient can read: in English, licensed "
            "questionnaires whose wording the clinic has not entered; in another language, those without a "
            "validated translation (today's pain and the pain drawing always go)."
        ),
    )

    def clean_channel(self) -> str:
        """No choice means the link is shown to hand over (as before links could be sent)."""
        return self.cleaned_data.get("channel") or "copy"


class PlanForm(forms.Form):
    """A clinic's instruments for one condition, as comma-separated codes."""

    instruments = forms.CharField(
        max_length=200,
        help_text=gettext_lazy("Instrument codes, comma-separated, in the order asked"),
        label=gettext_lazy("Instruments"),
    )
    # When the questionnaires are due (for all of them; the action takes one rule per instrument too).
    schedule_given = forms.BooleanField(required=False, widget=forms.HiddenInput)
    baseline = forms.BooleanField(required=False, label=gettext_lazy("Baseline"))
    every_days = forms.IntegerField(required=False, min_value=1, max_value=365, label=gettext_lazy("Every days"))
    every_visits = forms.IntegerField(required=False, min_value=1, max_value=50, label=gettext_lazy("Every visits"))
    discharge = forms.BooleanField(required=False, label=gettext_lazy("Discharge"))

    def schedule(self) -> dict[str, Any] | None:
        """The schedule the form sets ({"*": rule}), or None when the form carried none (keep the plan's)."""
        data = self.cleaned_data
        if not data.get("schedule_given"):
            return None
        rule = {key: data.get(key) for key in ("baseline", "every_days", "every_visits", "discharge")}
        return {"*": rule}


class WordingForm(forms.Form):
    """A clinic's licensed wording for one instrument: one text field per item question and per option,
    prefilled with the current wording (or the topic labels), and the clinic's licence reference."""

    licence_reference = forms.CharField(
        max_length=200,
        help_text=gettext_lazy("Your licence number or agreement reference for this instrument"),
        label=gettext_lazy("Licence reference"),
    )

    def __init__(self, defn: Instrument, *args: Any, entered: EnteredWording | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.defn = defn
        for number, item in enumerate(defn.items, start=1):
            shown = item_text(defn, item, entered)
            self.fields[f"q__{item.id}"] = forms.CharField(
                label=gettext("Item %(number)s (%(item)s)") % {"number": number, "item": item.label},
                initial=shown.text,
                required=False,
                widget=forms.Textarea(attrs={"rows": 2}),
            )
            for index, text in enumerate(shown.options):
                option = item.options[index]
                if entered is None and item.options_are_scores():
                    text = ""  # the data's labels are the scores: the admin types each licensed statement
                self.fields[f"o__{item.id}__{index}"] = forms.CharField(
                    label=gettext("Option %(number)s (answer %(printed)s, scores %(points)s)")
                    % {
                        "number": index + 1,
                        "printed": plain_number(option.printed),
                        "points": plain_number(option.points),
                    },
                    initial=text,
                    required=False,
                )

    def items(self) -> dict[str, dict[str, Any]]:
        """The posted wording in its stored form, for the action to check."""
        data = self.cleaned_data
        return {
            item.id: {
                "question": data.get(f"q__{item.id}", ""),
                "options": [data.get(f"o__{item.id}__{n}", "") for n in range(len(item.options))],
            }
            for item in self.defn.items
        }

    def item_groups(self) -> list[tuple[forms.BoundField, list[forms.BoundField]]]:
        """Each item's question field with its option fields, in published order."""
        return [
            (self[f"q__{item.id}"], [self[f"o__{item.id}__{n}"] for n in range(len(item.options))])
            for item in self.defn.items
        ]


YES_NO = [("yes", gettext_lazy("Yes")), ("no", gettext_lazy("No"))]


class DiaryForm(forms.Form):
    """One day of the headache diary on the patient's phone. The fields only read the answers; the rules
    (a headache day needs intensity and hours, which days are open) are the action's, so they live in one place.
    The words are translated into the patient's language (the page activates it)."""

    day = forms.ChoiceField(label=gettext_lazy("Which day are you filling in?"), widget=forms.RadioSelect)
    headache = forms.ChoiceField(
        label=gettext_lazy("Did you have a headache on this day?"), choices=YES_NO, widget=forms.RadioSelect
    )
    worst_intensity = forms.ChoiceField(
        label=gettext_lazy("If yes: how bad was it at its worst? (0 = no pain, 10 = worst pain imaginable)"),
        choices=[(str(n), str(n)) for n in range(11)],
        widget=forms.RadioSelect(attrs={"class": "scale"}),
        required=False,
    )
    hours = forms.CharField(
        label=gettext_lazy("If yes: for how many hours did you have the headache on this day?"),
        required=False,
        max_length=6,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "size": 6}),
    )
    acute_medication = forms.ChoiceField(
        label=gettext_lazy("Did you take medication for a headache on this day?"),
        choices=YES_NO,
        widget=forms.RadioSelect,
    )

    def __init__(self, *args: Any, days: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choice_field(self, "day").choices = days
