from django.apps import AppConfig


class FhirConfig(AppConfig):
    """FHIR R4: the API, bulk export, imports, and the SMART apps with their authorisations."""

    name = "needlepoint.fhir"
    label = "fhir"

    def ready(self) -> None:
        """Connect the receivers: the SMART authorisations a deactivated member gave, and the rows the patient's
        stored FHIR record shows (``records.whole_record``)."""
        from needlepoint.accounts.actions import member_deactivated
        from needlepoint.fhir.records import RECORD_CLINIC_ROWS, RECORD_ROWS
        from needlepoint.fhir.smart_server import revoke_member_authorisations
        from needlepoint.patients import page

        page.shows_patient_rows("fhir-record", RECORD_ROWS)
        page.shows_clinic_rows("fhir-record", RECORD_CLINIC_ROWS)

        # Deactivating a member revokes the SMART apps they authorised, in the same transaction; accounts sits
        # below fhir and cannot call it, so it sends ``member_deactivated`` and this receiver answers.
        member_deactivated.connect(revoke_member_authorisations, dispatch_uid="revoke_apps_on_deactivation")
