"""Encrypted values are bound to their row's uid: make it immutable (ticketsystem/rowidentity.py)."""

from django.db import migrations

from ticketsystem.rowidentity import uid_immutable


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_login_failure_minute")]

    operations = [uid_immutable("accounts_totpdevice", "accounts_backupcodedevice")]
