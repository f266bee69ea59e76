from django.apps import AppConfig


class PatientsConfig(AppConfig):
    """Patients, safety screening, informed consent and episodes of care."""

    name = "needlepoint.patients"
    label = "patients"

    def ready(self) -> None:
        """Connect the receiver that keeps the patient page's stored body current."""
        from needlepoint.patients import page

        page.connect()
