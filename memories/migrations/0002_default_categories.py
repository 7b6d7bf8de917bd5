from django.db import migrations

from memories.categories import DEFAULT_CATEGORIES


def add_defaults(apps, schema_editor):
    Category = apps.get_model("memories", "Category")
    for position, (name, description) in enumerate(DEFAULT_CATEGORIES):
        Category.objects.update_or_create(
            project=None, name=name, defaults={"description": description, "position": position}
        )


def remove_defaults(apps, schema_editor):
    apps.get_model("memories", "Category").objects.filter(project=None).delete()


class Migration(migrations.Migration):
    dependencies = [("memories", "0001_initial")]

    operations = [migrations.RunPython(add_defaults, remove_defaults)]
