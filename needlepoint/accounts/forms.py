"""Forms for account pages; the actions re-check every rule."""

from __future__ import annotations

from django import forms

from needlepoint.accounts.models import Membership
from needlepoint.accounts.roles import Role


class StaffForm(forms.Form):
    """A new member of staff with one role in the clinic."""

    first_name = forms.CharField(max_length=150)
    last_name = forms.CharField(max_length=150)
    username = forms.CharField(max_length=150)
    email = forms.EmailField(required=False)
    role = forms.ChoiceField(choices=[(r.value, r.value.replace("_", " ").capitalize()) for r in Role])
    profession = forms.ChoiceField(choices=[("", "—"), *Membership.Profession.choices], required=False)
    licence_number = forms.CharField(max_length=60, required=False)
    password = forms.CharField(widget=forms.PasswordInput, help_text="At least 10 characters, not a common password.")


class LetterheadForm(forms.Form):
    """The clinic's letterhead as printed on visit notes, referral letters and progress reports."""

    name = forms.CharField(max_length=200, label="Clinic name")
    address = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), help_text="One line per printed line."
    )
    phone = forms.CharField(max_length=40, required=False)
    email = forms.EmailField(required=False, label="E-mail")
    website = forms.URLField(required=False, help_text="Optional.", assume_scheme="https")
