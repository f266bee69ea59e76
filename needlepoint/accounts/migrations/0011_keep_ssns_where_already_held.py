"""Clinics that already hold Social Security numbers keep them as they had them.

0009 added ``Clinic.keep_social_security_numbers`` off for every clinic. Numbers kept before that setting existed
would then be sent whole in FHIR while the staff page said the clinic keeps none. This switches the setting on
for each clinic holding at least one, so what it holds stays as it had it and the staff page says so; a clinic
admin may switch it off and remove them.

The rule is ``patients.demographics.is_masked`` as it stood when this migration was written, copied here: a
migration keeps its meaning when the live rule changes, and accounts may not import patients (the layer contract).
"""

from django.db import migrations

SSN_SYSTEMS = frozenset({"http://hl7.org/fhir/sid/us-ssn", "urn:oid:2.16.840.1.113883.4.1"})
SSN_TYPE = ("http://terminology.hl7.org/CodeSystem/v2-0203", "SS")
SSN_TYPE_TEXTS = frozenset({"ssn", "social security number"})


def is_masked(system: str, type_system: str = "", type_code: str = "", type_text: str = "") -> bool:
    """Whether the identifier is a Social Security number (the rule of ``demographics.is_masked`` at 0011)."""
    if system in SSN_SYSTEMS or (type_text or "").strip().casefold() in SSN_TYPE_TEXTS:
        return True
    return (type_system, type_code) == SSN_TYPE


def keep_where_already_held(apps, schema_editor):  # type: ignore[no-untyped-def]
    """Switch the setting on for the clinics holding a Social Security number among their patients' identifiers."""
    Clinic = apps.get_model("accounts", "Clinic")
    PatientIdentifier = apps.get_model("patients", "PatientIdentifier")
    kinds = PatientIdentifier.objects.values_list("clinic_id", "system", "type_system", "type_code", "type_text")
    holding = {clinic_id for clinic_id, *kind in kinds.distinct() if is_masked(*kind)}
    Clinic.objects.filter(pk__in=holding, keep_social_security_numbers=False).update(keep_social_security_numbers=True)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0010_membership_practitioner_version"),
        ("patients", "0018_patient_identifier_lookup"),
    ]

    operations = [migrations.RunPython(keep_where_already_held, migrations.RunPython.noop)]
