"""The screening page's form, built from the screening data file.

The questions speak to the patient; they are grouped in sections, each with "None of these apply", which
answers every question of the section no in one go (and is refused beside a yes in that section). The
build (height and weight) is measured and typed by the clinician; the BMI is derived by the rules.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext

from needlepoint.patients.screening_rules import (
    MEASUREMENTS,
    build_rules,
    screening_items,
    screening_sections,
)

YES_NO = [("no", "No"), ("yes", "Yes")]
NONE_APPLY_PREFIX = "none_apply__"


def none_apply_name(section_code: str) -> str:
    """The form field of a section's "None of these apply"."""
    return f"{NONE_APPLY_PREFIX}{section_code}"


class ScreeningForm(forms.Form):
    """One yes/no question per screening item with its detail fields, by section, and the build.

    The form only collects answers; the rule module decides the result and reports contradictions.
    """

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        rules = build_rules()
        for name, (low, high) in zip(MEASUREMENTS, (rules.height_cm, rules.weight_kg), strict=True):
            # Bounds are checked by the rules (one message for the page and the API); the widget only hints.
            self.fields[name] = forms.DecimalField(
                label=rules.labels[name],
                required=False,
                max_digits=6,
                decimal_places=2,
                widget=forms.NumberInput(attrs={"min": f"{low:g}", "max": f"{high:g}", "step": "0.1"}),
                error_messages={
                    "invalid": gettext("%(measurement)s: enter a number, for example 172 or 68.5.")
                    % {"measurement": rules.labels[name]}
                },
            )
        self.groups: list[dict[str, Any]] = []
        for item in screening_items():
            self.fields[item.code] = forms.ChoiceField(
                label=item.question,
                choices=YES_NO,
                widget=forms.RadioSelect,
                # Required in clean(): a ticked "None of these apply" answers the section's questions.
                required=False,
            )
            detail_names = []
            for detail in item.details:
                if detail.kind == "choice":
                    field: forms.Field = forms.ChoiceField(
                        label=detail.label,
                        required=False,
                        choices=[("", "—")] + [(c.value, c.label) for c in detail.choices],
                    )
                else:
                    field = forms.CharField(label=detail.label, required=False, max_length=200)
                self.fields[detail.name] = field
                detail_names.append(detail.name)
            self.groups.append({"item": item, "details": detail_names})
        for section in screening_sections():
            self.fields[none_apply_name(section.code)] = forms.BooleanField(
                label=gettext("None of these apply"), required=False
            )

    def clean(self) -> dict[str, Any]:
        """Apply each ticked "None of these apply", and require an answer to every other question."""
        super().clean()
        cleaned = self.cleaned_data
        for section in screening_sections():
            codes = [g["item"] for g in self.groups if g["item"].section == section.code]
            if cleaned.get(none_apply_name(section.code)):
                said_yes = [item.label for item in codes if cleaned.get(item.code) == "yes"]
                if said_yes:
                    self.add_error(
                        none_apply_name(section.code),
                        gettext(
                            "“None of these apply” is ticked in %(section)s, but %(answered)s "
                            "is answered yes: untick it or change the answer."
                        )
                        % {"section": section.title, "answered": ", ".join(said_yes)},
                    )
                    continue
                for item in codes:
                    cleaned[item.code] = "no"
            for item in codes:
                if cleaned.get(item.code) not in ("yes", "no") and item.code not in self.errors:
                    self.add_error(item.code, gettext("Answer: %(question)s.") % {"question": item.label})
        return cleaned

    def sections(self) -> list[dict[str, Any]]:
        """Each section with its "None of these apply" box and its questions (each with bound details)."""
        return [
            {
                "section": section,
                "none_apply": self[none_apply_name(section.code)],
                "questions": [
                    {"item": g["item"], "field": self[g["item"].code], "details": [self[n] for n in g["details"]]}
                    for g in self.groups
                    if g["item"].section == section.code
                ],
            }
            for section in screening_sections()
        ]

    def build_fields(self) -> list[forms.BoundField]:
        """The height and weight fields."""
        return [self[name] for name in MEASUREMENTS]

    def answers(self) -> dict[str, Any]:
        """The answers as the rule module takes them (details and measurements only where given)."""
        answers: dict[str, Any] = {}
        for name in MEASUREMENTS:
            value = self.cleaned_data.get(name)
            if value is not None:
                answers[name] = str(value)
        for group in self.groups:
            item = group["item"]
            answers[item.code] = self.cleaned_data[item.code]
            for name in group["details"]:
                value = self.cleaned_data.get(name)
                if value not in (None, ""):
                    answers[name] = value
        return answers

    @staticmethod
    def describe_answers(answers: dict[str, Any]) -> list[dict[str, Any]]:
        """The stored answers with their questions, for the screening page."""
        rows = []
        for item in screening_items():
            details = {d.label: answers.get(d.name) for d in item.details if answers.get(d.name) not in (None, "")}
            rows.append({"item": item, "answer": answers.get(item.code), "details": details})
        return rows
