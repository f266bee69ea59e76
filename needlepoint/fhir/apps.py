from django.apps import AppConfig


class FhirConfig(AppConfig):
    """FHIR R4: the API, bulk export, imports, and the SMART apps with their authorisations."""

    name = "needlepoint.fhir"
    label = "fhir"

    def ready(self) -> None:
        from needlepoint.accounts.actions import member_deactivated
        from needlepoint.fhir.smart_server import revoke_member_authorisations

        # Deactivating a member revokes the SMART apps they authorised, in the same transaction; accounts sits
        # below fhir and cannot call it, so it sends ``member_deactivated`` and this receiver answers.
        member_deactivated.connect(revoke_member_authorisations, dispatch_uid="revoke_apps_on_deactivation")
