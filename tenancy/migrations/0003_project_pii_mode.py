# Each project's answer to personal data found in memory text (memories.pii): flag (the
# default, what every existing project keeps), redact or reject.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("memdash", "0002_compliance_role"),
    ]

    operations = [
        migrations.AddField(
            model_name="project",
            name="pii_mode",
            field=models.CharField(
                choices=[
                    ("flag", "Flag: store the text, record the kinds found"),
                    ("redact", "Redact: store the text with <PHONE>, <EMAIL>... in their place"),
                    ("reject", "Reject: refuse the write (400 naming the kinds)"),
                ],
                default="flag",
                max_length=10,
            ),
        ),
    ]
