"""Managers keep the tag vocabulary and may see (and remove) saved views on the admin site."""

from django.db import migrations

PERMISSIONS = {"tag": ["add", "change", "delete", "view"], "savedview": ["delete", "view"]}


def grant(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    app_config = apps.get_app_config("tickets")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    manager, _ = Group.objects.get_or_create(name="manager")
    for model, actions in PERMISSIONS.items():
        for action in actions:
            manager.permissions.add(
                Permission.objects.get(content_type__app_label="tickets", codename=f"{action}_{model}")
            )


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    codenames = [f"{a}_{m}" for m, actions in PERMISSIONS.items() for a in actions]
    manager = apps.get_model("auth", "Group").objects.filter(name="manager").first()
    if manager is not None:
        manager.permissions.remove(
            *Permission.objects.filter(content_type__app_label="tickets", codename__in=codenames)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0010_tags_saved_views"),
        ("accounts", "0001_roles"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
