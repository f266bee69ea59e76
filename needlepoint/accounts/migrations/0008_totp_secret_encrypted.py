"""TOTP secrets encrypted at rest: the column is renamed and widened, and every stored secret encrypted."""

from django.db import migrations, models

from needlepoint.accounts import field_crypto


def encrypt_existing(apps, schema_editor):
    """Encrypt each plaintext secret (a value already encrypted is left as it is, so running twice is harmless)."""
    TotpDevice = apps.get_model("accounts", "TotpDevice")
    for device in TotpDevice.objects.using(schema_editor.connection.alias).only("pk", "encrypted_secret"):
        if not field_crypto.is_encrypted(device.encrypted_secret):
            device.encrypted_secret = field_crypto.encrypt(device.encrypted_secret)
            device.save(update_fields=["encrypted_secret"])


def decrypt_existing(apps, schema_editor):
    """Back to plaintext, for a migration backwards."""
    TotpDevice = apps.get_model("accounts", "TotpDevice")
    for device in TotpDevice.objects.using(schema_editor.connection.alias).only("pk", "encrypted_secret"):
        if field_crypto.is_encrypted(device.encrypted_secret):
            device.encrypted_secret = field_crypto.decrypt(device.encrypted_secret)
            device.save(update_fields=["encrypted_secret"])


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0007_passkeys"),
    ]

    operations = [
        migrations.RenameField(model_name="totpdevice", old_name="secret", new_name="encrypted_secret"),
        migrations.AlterField(
            model_name="totpdevice",
            name="encrypted_secret",
            field=models.CharField(
                help_text="Base32 secret shared with the authenticator app, encrypted (Fernet)", max_length=255
            ),
        ),
        migrations.RunPython(encrypt_existing, decrypt_existing),
    ]
