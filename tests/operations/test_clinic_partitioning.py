"""Every patient-scoped table carries its clinic, and every fetch through the access helper filters by it.

These are the two facts docs/scaling.md builds on: distribution by clinic keeps each clinic's rows on one
shard, and the queries the pages make through the access helper stay on that shard.
"""

from __future__ import annotations

import re

import pytest
from django.apps import apps
from django.db import connection, models
from django.http import Http404
from django.test.utils import CaptureQueriesContext

from needlepoint.accounts import access
from needlepoint.accounts.roles import Capability

# Tables without a clinic column, and why each one does not hold a clinic's patient data.
CLINIC_INDEPENDENT = {
    "accounts.Clinic": "the clinic itself (the distribution key's own table)",
    "accounts.User": "a person who may work for several clinics; no patient data",
    "accounts.ApiToken": "a user's credential, not a clinic's record",
    "accounts.SignInCounter": "failed sign-ins per username or address, before any clinic is known",
    "accounts.TotpDevice": "a user's second factor",
    "accounts.Passkey": "a user's second factor",
    "accounts.RecoveryCode": "a user's second factor",
}


def our_models() -> list[type[models.Model]]:
    return [m for m in apps.get_models() if m.__module__.startswith("needlepoint.")]


def refers_to_patient_data(model: type[models.Model]) -> bool:
    names = {f.name for f in model._meta.get_fields() if f.concrete}
    return bool(names & {"patient", "episode", "visit", "entry", "adverse_event"})


def test_every_table_of_ours_carries_its_clinic_or_says_why_not() -> None:
    missing = []
    for model in our_models():
        label = model._meta.label
        field_names = {f.name for f in model._meta.get_fields() if f.concrete}
        if "clinic" not in field_names and label not in CLINIC_INDEPENDENT:
            missing.append(label)
    assert missing == [], f"tables with no clinic column and no reason in CLINIC_INDEPENDENT: {missing}"


def test_the_exceptions_hold_no_patient_data_and_are_real_models() -> None:
    labels = {m._meta.label for m in our_models()}
    assert set(CLINIC_INDEPENDENT) <= labels
    for label in CLINIC_INDEPENDENT:
        assert not refers_to_patient_data(apps.get_model(label)), label


def test_clinic_columns_are_foreign_keys_to_the_clinic() -> None:
    clinic_model = apps.get_model("accounts.Clinic")
    for model in our_models():
        field = next((f for f in model._meta.concrete_fields if f.name == "clinic"), None)
        if field is not None:
            assert field.related_model is clinic_model, model._meta.label


def _filters_by_clinic(sql: str, clinic_id: int) -> bool:
    return re.search(rf'"clinic_id"\s*=\s*(%s|{clinic_id})\b', sql) is not None


PATIENT_SCOPED = [
    m._meta.label for m in apps.get_models() if m.__module__.startswith("needlepoint.") and refers_to_patient_data(m)
]


@pytest.mark.parametrize("label", PATIENT_SCOPED)
def test_the_access_helper_filters_every_patient_scoped_fetch_by_clinic(clinic_admin, label: str) -> None:
    model = apps.get_model(label)
    # Nothing exists: a 404, after the probe is recorded.
    with CaptureQueriesContext(connection) as queries, pytest.raises(Http404):
        access.get_record(clinic_admin, model.objects.all(), 1, Capability.VIEW_DEMOGRAPHICS)
    selects = [q["sql"] for q in queries.captured_queries if f'FROM "{model._meta.db_table}"' in q["sql"]]
    assert selects, f"no query on {label}"
    assert all(_filters_by_clinic(sql, clinic_admin.clinic_id) for sql in selects), selects


def test_patient_fetches_and_lists_filter_by_clinic(clinic_admin, patient) -> None:
    with CaptureQueriesContext(connection) as queries:
        list(access.patients_for(clinic_admin))
        access.get_patient(clinic_admin, patient.pk)
    selects = [q["sql"] for q in queries.captured_queries if 'FROM "patients_patient"' in q["sql"]]
    assert len(selects) == 2
    assert all(_filters_by_clinic(sql, clinic_admin.clinic_id) for sql in selects), selects
