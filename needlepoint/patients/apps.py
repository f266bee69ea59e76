from django.apps import AppConfig


class PatientsConfig(AppConfig):
    """Patients, safety screening, informed consent and episodes of care."""

    name = "needlepoint.patients"
    label = "patients"
