"""Create the three roles (Admin, Comms staff, Viewer) as groups with their capabilities.

Model permissions for the admin site are (re)granted to Admin after every migrate by
``mailer.web.roles.roles_sync``, since later migrations of other apps add models.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

CAPS = {
    "Viewer": ["view_reports"],
    "Comms staff": ["view_reports", "edit_issues", "send_issues"],
    "Admin": ["view_reports", "edit_issues", "send_issues", "approve_sends", "manage_audience",
              "manage_settings"],
}


def forwards(apps, schema_editor):
    # Permissions are normally created after the whole migrate run; create them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in CAPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*Permission.objects.filter(content_type__app_label="web",
                                                         codename__in=codenames))


def backwards(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=list(CAPS)).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("web", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(forwards, backwards)]
