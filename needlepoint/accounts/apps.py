from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Users, roles, clinics, API tokens and the audit trail."""

    name = "needlepoint.accounts"
    label = "accounts"
