"""Forms for account pages; the actions re-check every rule."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy

from needlepoint.accounts.models import Membership
from needlepoint.accounts.roles import Role


class StaffForm(forms.Form):
    """A new member of staff with one role in the clinic."""

    first_name = forms.CharField(max_length=150, label=gettext_lazy("First name"))
    last_name = forms.CharField(max_length=150, label=gettext_lazy("Last name"))
    username = forms.CharField(max_length=150, label=gettext_lazy("Username"))
    email = forms.EmailField(required=False, label=gettext_lazy("Email"))
    role = forms.ChoiceField(
        choices=[(r.value, r.value.replace("_", " ").capitalize()) for r in Role], label=gettext_lazy("Role")
    )
    profession = forms.ChoiceField(
        choices=[("", "—"), *Membership.Profession.choices], required=False, label=gettext_lazy("Profession")
    )
    licence_number = forms.CharField(max_length=60, required=False, label=gettext_lazy("Licence number"))
    password = forms.CharField(
        widget=forms.PasswordInput,
        help_text=gettext_lazy("At least 10 characters, not a common password."),
        label=gettext_lazy("Password"),
    )


class LetterheadForm(forms.Form):
    """The clinic's letterhead as printed on visit notes, referral letters and progress reports."""

    name = forms.CharField(max_length=200, label=gettext_lazy("Clinic name"))
    address = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("One line per printed line."),
        label=gettext_lazy("Address"),
    )
    phone = forms.CharField(max_length=40, required=False, label=gettext_lazy("Phone"))
    email = forms.EmailField(required=False, label=gettext_lazy("E-mail"))
    website = forms.URLField(
        required=False, help_text=gettext_lazy("Optional."), assume_scheme="https", label=gettext_lazy("Website")
    )
