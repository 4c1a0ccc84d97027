"""Create the role groups agent, manager and admin with their model permissions."""

from django.db import migrations

# Managers run queues and work every ticket in the admin site; they do not manage accounts.
MANAGER_PERMISSIONS = {
    "tickets": {
        "queue": ["add", "change", "view"],
        "contact": ["change", "view"],
        "ticket": ["add", "change", "view"],
        "comment": ["view"],
        "activity": ["view"],
    },
    "auth": {"user": ["view"], "group": ["view"]},
}


def create_roles(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    # Permissions are normally made after migrate; make them now so groups can hold them.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    Group.objects.get_or_create(name="agent")
    Group.objects.get_or_create(name="admin")
    manager, _ = Group.objects.get_or_create(name="manager")
    for app_label, models in MANAGER_PERMISSIONS.items():
        for model, actions in models.items():
            for action in actions:
                manager.permissions.add(
                    Permission.objects.get(
                        content_type__app_label=app_label, codename=f"{action}_{model}"
                    )
                )


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=["agent", "manager", "admin"]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("tickets", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
