from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Users, roles, clinics, API tokens and the audit trail."""

    name = "needlepoint.accounts"
    label = "accounts"

    def ready(self) -> None:
        from needlepoint.accounts import audit

        audit.connect_safety_net()
