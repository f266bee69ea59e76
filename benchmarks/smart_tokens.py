"""What a SMART app's token costs at the FHIR endpoints, beside a personal API token: GET Patient/{id} through the
Django test client (routing, authentication, the scope check, the read, the audit entry).

    SECRET_KEY=x python benchmarks/smart_tokens.py [--runs 200]

Uses the database in DATABASE_URL (SQLite in NEEDLEPOINT_DATA_DIR when unset), migrates it, and makes (or reuses)
a clinic ``smart-bench`` with one clinician, one patient, a registered app and three tokens: the clinician's
personal token, an app token with ``user/*.rs`` and one with ``patient/*.rs`` for the patient. Prints the median
and p95 of ``--runs`` reads with each, and the machine's load.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from datetime import date, timedelta
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    sys.path.insert(0, str(PROJECT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "needlepoint.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.utils import timezone
    from oauth2_provider.models import AccessToken, set_token_value
    from timing import percentiles, timed

    from needlepoint.accounts.actions import create_api_token
    from needlepoint.accounts.models import Clinic, Membership, User
    from needlepoint.fhir.models import AppAuthorisation, AuthorisedToken
    from needlepoint.fhir.smart_pages import register_app
    from needlepoint.patients.actions import register_patient

    call_command("migrate", verbosity=0)
    clinic, _ = Clinic.objects.get_or_create(slug="smart-bench", defaults={"name": "SMART bench", "mrn_prefix": "SB"})
    admin_user, _ = User.objects.get_or_create(username="smart-bench-admin")
    admin, _ = Membership.objects.get_or_create(user=admin_user, clinic=clinic, defaults={"role": "clinic_admin"})
    user, _ = User.objects.get_or_create(username="smart-bench-clinician")
    clinician, _ = Membership.objects.get_or_create(user=user, clinic=clinic, defaults={"role": "clinician"})
    patient = clinic.patients.first()
    if patient is None:
        patient = register_patient(
            clinician,
            {
                "given_name": "Bench",
                "family_name": f"Mark{secrets.randbelow(10**6)}",
                "date_of_birth": date(1980, 1, 1),
            },
        )
    app, _ = register_app(admin, "Bench app", "public", "launch/patient patient/*.rs user/*.rs", "https://a.example/cb")

    def app_token(scope: str, patient_id: int | None) -> str:
        authorisation = AppAuthorisation.objects.create(
            app=app, membership=clinician, patient_id=patient_id, scope=scope
        )
        raw = secrets.token_urlsafe(30)
        token = AccessToken(
            user=user, application=app.application, scope=scope, expires=timezone.now() + timedelta(hours=1)
        )
        set_token_value(token, raw)
        token.save()
        AuthorisedToken.objects.create(access_token=token, app=app, authorisation=authorisation)
        return raw

    _, personal = create_api_token(clinician, "bench")
    tokens = {
        "personal API token": personal,
        "SMART token, user/*.rs": app_token("user/*.rs", None),
        "SMART token, patient/*.rs": app_token("launch/patient patient/*.rs", patient.pk),
    }
    load = os.getloadavg()
    print(f"database: {connection.vendor}; {args.runs} reads of Patient/{patient.pk} each; load {load[0]:.2f}")
    for label, raw in tokens.items():
        client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}", HTTP_ACCEPT="application/fhir+json", HTTP_HOST="localhost")
        url = f"/fhir/R4/Patient/{patient.pk}"
        assert client.get(url).status_code == 200, label
        print(f"{label:28} {percentiles(timed(lambda c=client, u=url: c.get(u), args.runs))}")
    print(f"load after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
