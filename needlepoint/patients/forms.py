"""Forms for patient intake pages; the actions re-check every rule on the server."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext, gettext_lazy

from needlepoint.patients import demographics
from needlepoint.patients.conditions import IcdCode, condition_choices, conditions
from needlepoint.patients.models import Consent, Episode, Patient
from needlepoint.web import choice_field

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class DateInput(forms.DateInput):
    input_type = "date"


def _not_recorded(coded: demographics.CodedSet) -> list[tuple[str, StrOrPromise]]:
    return [("", gettext_lazy("Not recorded")), *coded.choices()]


PATIENT_REPORTED = gettext_lazy("As the patient reports it; they may decline to answer.")


class PatientForm(forms.Form):
    """Demographics and contact details. Race, ethnicity and birth sex are the patient's own answers, all optional."""

    name_prefix = forms.CharField(
        label=gettext_lazy("Title"), max_length=40, required=False, help_text=gettext_lazy("Mr., Mrs., Ms., Dr., …")
    )
    given_name = forms.CharField(max_length=100, label=gettext_lazy("Given name"))
    family_name = forms.CharField(max_length=100, label=gettext_lazy("Family name"))
    date_of_birth = forms.DateField(widget=DateInput, label=gettext_lazy("Date of birth"))
    sex = forms.ChoiceField(choices=Patient.Sex.choices, initial=Patient.Sex.UNKNOWN, label=gettext_lazy("Sex"))
    birth_sex = forms.ChoiceField(
        label=gettext_lazy("Sex assigned at birth"),
        choices=_not_recorded(demographics.birth_sexes()),
        required=False,
        help_text=PATIENT_REPORTED,
    )
    phone = forms.CharField(max_length=40, required=False, label=gettext_lazy("Phone"))
    email = forms.EmailField(required=False, label=gettext_lazy("Email"))
    address = forms.CharField(
        label=gettext_lazy("Street address"),
        max_length=300,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy("One line per line of the address."),
    )
    address_city = forms.CharField(label=gettext_lazy("City"), max_length=100, required=False)
    address_state = forms.CharField(label=gettext_lazy("State"), max_length=100, required=False)
    address_postal_code = forms.CharField(label=gettext_lazy("Postal code"), max_length=20, required=False)
    address_country = forms.CharField(label=gettext_lazy("Country"), max_length=100, required=False)
    emergency_contact = forms.CharField(max_length=200, required=False, label=gettext_lazy("Emergency contact"))
    marital_status = forms.ChoiceField(
        choices=_not_recorded(demographics.marital_statuses()), required=False, label=gettext_lazy("Marital status")
    )
    race_codes = forms.MultipleChoiceField(
        label=gettext_lazy("Race"),
        choices=demographics.races().choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=format_lazy(
            "{} {}", PATIENT_REPORTED, gettext_lazy("Up to five categories, or “Asked, no answer” or “Unknown” alone.")
        ),
    )
    race_text = forms.CharField(label=gettext_lazy("Race in the patient's words"), max_length=200, required=False)
    ethnicity_code = forms.ChoiceField(
        label=gettext_lazy("Ethnicity"),
        choices=_not_recorded(demographics.ethnicities()),
        required=False,
        help_text=PATIENT_REPORTED,
    )
    ethnicity_text = forms.CharField(
        label=gettext_lazy("Ethnicity in the patient's words"), max_length=200, required=False
    )
    preferred_language = forms.ChoiceField(
        label=gettext_lazy("Language for the patient's pages and messages"),
        choices=Patient.Language.choices,
        initial=Patient.Language.ENGLISH,
        required=False,
        help_text=gettext_lazy(
            "Questionnaire links, the diary, the handout, after-care, consent text and messages use it."
        ),
    )
    mrn = forms.CharField(
        label=gettext_lazy("MRN (optional)"),
        max_length=30,
        required=False,
        help_text=gettext_lazy(
            "Leave empty to generate one; enter a number only when bringing a patient from another system."
        ),
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    confirm_duplicate = forms.BooleanField(
        label=gettext_lazy("This is a different person: register anyway"),
        required=False,
        help_text=gettext_lazy("Tick only after checking that none of the patients listed is this one."),
    )

    def clean_race_codes(self) -> list[str]:
        """Known categories, at most five, and a declined or unknown answer alone."""
        codes = list(self.cleaned_data.get("race_codes") or [])
        if problem := demographics.race_problem(codes):
            raise forms.ValidationError(problem)
        return codes

    def clean_preferred_language(self) -> str:
        """Not chosen: the language already on record (editing), else English."""
        return self.cleaned_data.get("preferred_language") or self.initial.get("preferred_language") or "en"

    def __init__(self, *args: Any, offer_confirm_duplicate: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not offer_confirm_duplicate:
            # Editing an existing patient: there is no registration to confirm.
            del self.fields["confirm_duplicate"]


class ConsentForm(forms.Form):
    """The patient (or, under 18, the guardian) types their full name to sign the consent text shown.

    The guardian fields are offered for a child; the action decides from the date of birth whether they
    are needed or refused, whatever the page showed.
    """

    signed_name = forms.CharField(label=gettext_lazy("Patient's full name, typed by the patient"), max_length=210)
    text_version = forms.IntegerField(widget=forms.HiddenInput)
    drawn_signature = forms.CharField(widget=forms.HiddenInput, required=False)
    guardian_name = forms.CharField(label=gettext_lazy("Guardian's full name"), max_length=210, required=False)
    guardian_relationship = forms.ChoiceField(
        label=gettext_lazy("Relationship to the child"),
        choices=[("", "—"), *Consent.GuardianRelationship.choices],
        required=False,
    )
    child_assent = forms.BooleanField(
        label=gettext_lazy(
            "The child has had dry needling explained in words they understand, and agrees to it (assent)"
        ),
        required=False,
    )

    def __init__(self, *args: Any, minor: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if minor:
            self.fields["signed_name"].label = gettext("Guardian's full name, typed by the guardian (signature)")


class WithdrawConsentForm(forms.Form):
    reason = forms.CharField(max_length=300, required=False, label=gettext_lazy("Reason"))


class EpisodeForm(forms.Form):
    """An episode of care for one condition."""

    condition = forms.ChoiceField(choices=condition_choices, label=gettext_lazy("Condition"))
    icd10_code = forms.ChoiceField(
        label=gettext_lazy("ICD-10-CM code"),
        required=False,
        help_text=gettext_lazy(
            "A sided code must match the episode's side. Left on “From the condition and side”, the code is "
            "taken from the side where only one fits."
        ),
    )
    side = forms.ChoiceField(choices=Episode.Side.choices, label=gettext_lazy("Side"))
    onset_date = forms.DateField(widget=DateInput, label=gettext_lazy("Onset date"))
    goals = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, label=gettext_lazy("Goals"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices: list[tuple[str, str | list[tuple[str, str]]]] = [("", "From the condition and side")]
        for condition in conditions().values():
            group = [(c.code, icd10_option_label(c)) for c in condition.icd10]
            choices.append((condition.label, group))
        choice_field(self, "icd10_code").choices = choices


def icd10_option_label(code: IcdCode) -> str:
    """An ICD-10-CM option as a clinician reads it: code, official description, and the site where coded by site."""
    site = f" ({code.site})" if code.site and code.site.split(":")[0] not in code.label.lower() else ""
    return f"{code.code} {code.label}{site}" + ("" if code.verified else gettext(" (code unverified)"))


class DischargeForm(forms.Form):
    discharge_date = forms.DateField(widget=DateInput, label=gettext_lazy("Discharge date"))
    reason = forms.ChoiceField(choices=Episode.DischargeReason.choices, label=gettext_lazy("Reason"))


class NeedlingAgeForm(forms.Form):
    """The clinic's minimum needling age, in years."""

    minimum_needling_age = forms.IntegerField(
        label=gettext_lazy("Minimum needling age (years)"),
        help_text=gettext_lazy(
            "Patients younger than this are not needled. Under 18 always needs a guardian's consent "
            "and the child's assent."
        ),
    )


class HealthChangeForm(forms.Form):
    description = forms.CharField(max_length=250, label=gettext_lazy("What changed"))


class AcknowledgeForm(forms.Form):
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), label=gettext_lazy("How the precautions will be managed")
    )


class RecordDeathForm(forms.Form):
    """The patient's death: the date when known, and a check that this is the right chart."""

    deceased_date = forms.DateField(
        label=gettext_lazy("Date of death (if known)"),
        widget=DateInput,
        required=False,
        help_text=gettext_lazy("Leave empty when the date is not known."),
    )
    right_chart = forms.BooleanField(
        label=gettext_lazy("I have checked the name, date of birth and MRN: this is the patient who died"),
        help_text=gettext_lazy("A death recorded on the wrong chart stops that patient's care and messages."),
    )
    version = forms.IntegerField(widget=forms.HiddenInput)


class WithdrawDeathForm(forms.Form):
    """Why a recorded death is withdrawn (recorded in error)."""

    reason = forms.CharField(
        max_length=300,
        label=gettext_lazy("Why the record of death is withdrawn"),
        help_text=gettext_lazy("For example: recorded on the wrong chart; the report of death was mistaken."),
    )
    version = forms.IntegerField(widget=forms.HiddenInput)
