"""The screening page's form, built from the screening items data file (one yes/no per item, with details)."""

from __future__ import annotations

from typing import Any

from django import forms

from needlepoint.patients.screening_rules import screening_items

YES_NO = [("no", "No"), ("yes", "Yes")]


class ScreeningForm(forms.Form):
    """One yes/no question per screening item, each item's detail fields beside it.

    The form only collects answers; the rule module decides the result and reports contradictions.
    """

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.groups: list[dict[str, Any]] = []
        for item in screening_items():
            self.fields[item.code] = forms.ChoiceField(
                label=item.question,
                choices=YES_NO,
                widget=forms.RadioSelect,
                required=True,
                error_messages={"required": f"Answer: {item.label}."},
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

    def bound_groups(self) -> list[dict[str, Any]]:
        """Each question with its bound detail fields, grouped by class (absolute first)."""
        return [
            {"item": g["item"], "field": self[g["item"].code], "details": [self[n] for n in g["details"]]}
            for g in self.groups
        ]

    def answers(self) -> dict[str, Any]:
        """The answers as the rule module takes them (details only where given)."""
        answers: dict[str, Any] = {}
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
