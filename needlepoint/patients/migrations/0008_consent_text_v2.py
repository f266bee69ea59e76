"""Consent text edition 2: every clinic still on the unchanged default edition 1 gets a new current version.

Edition 2 names delayed pneumothorax (published cases up to two days later), the base of the neck and the upper
back, and what to do; it adds nerve or spinal injury, a broken or retained needle and organ puncture to the
material risks. A clinic that wrote its own wording keeps it: only a text identical to edition 1 is replaced.
Existing consents stay attached to the old version, so the needling gate asks each patient to consent again.
The editions are read from the data file, which keeps every edition (append only), so this stays reproducible.
"""

import json
from pathlib import Path

from django.db import migrations
from django.utils import timezone

EDITIONS_FILE = Path(__file__).resolve().parent.parent / "data" / "consent_text.json"


def _edition(number):
    editions = json.loads(EDITIONS_FILE.read_text(encoding="utf-8"))["editions"]
    return next(e for e in editions if e["edition"] == number)


def _same_text(text, edition):
    return (
        text.title == edition["title"]
        and text.body == edition["body"]
        and text.material_risks == edition["material_risks"]
    )


def publish_edition_2(apps, schema_editor):
    ConsentText = apps.get_model("patients", "ConsentText")
    old, new = _edition(1), _edition(2)
    for text in ConsentText.objects.filter(is_current=True):
        if not _same_text(text, old):
            continue
        text.is_current = False
        text.save(update_fields=["is_current"])
        ConsentText.objects.create(
            clinic_id=text.clinic_id,
            version=text.version + 1,
            title=new["title"],
            body=new["body"],
            material_risks=new["material_risks"],
            created_at=timezone.now(),
            is_current=True,
        )


def withdraw_edition_2(apps, schema_editor):
    """Undo only where no patient has consented to edition 2 yet; a signed text is never deleted."""
    ConsentText = apps.get_model("patients", "ConsentText")
    new = _edition(2)
    for text in ConsentText.objects.filter(is_current=True):
        if not _same_text(text, new) or text.consents.exists():
            continue
        previous = ConsentText.objects.filter(clinic_id=text.clinic_id, version=text.version - 1).first()
        if previous is None:
            continue
        text.delete()
        previous.is_current = True
        previous.save(update_fields=["is_current"])


class Migration(migrations.Migration):
    dependencies = [("patients", "0007_screening_build_age_consent_guardian")]

    operations = [migrations.RunPython(publish_edition_2, withdraw_edition_2)]
