"""The default partition refuses TRUNCATE too.

A partition truncated alone does not fire its parent's TRUNCATE trigger, so each monthly
partition gets its own (audit.partitions.ensure_partitions); the default partition, made by
0001, had none, and `TRUNCATE audit_log_default` emptied it.
"""

from django.db import migrations

CREATE = """
CREATE TRIGGER audit_log_default_no_truncate BEFORE TRUNCATE ON audit_log_default
    FOR EACH STATEMENT EXECUTE FUNCTION memdash_audit_append_only();
"""
DROP = "DROP TRIGGER IF EXISTS audit_log_default_no_truncate ON audit_log_default;"


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_entry_state")]

    operations = [migrations.RunSQL(CREATE, DROP)]
