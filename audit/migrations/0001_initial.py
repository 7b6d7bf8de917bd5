"""The audit log: one table for the access log (reads) and the audit trail (changes).

Declaratively partitioned by month on `at`, so a retention purge drops whole partitions; a
default partition catches rows no monthly partition covers yet. A trigger makes it append-only:
UPDATE, DELETE and TRUNCATE raise, except an erasure's redaction of the free text a request gave
(query, filters, path), which sets `memdash.audit_redaction` for its transaction.
"""

from django.db import migrations

CREATE = r"""
CREATE TABLE audit_log (
    id bigint GENERATED ALWAYS AS IDENTITY,
    at timestamptz NOT NULL DEFAULT now(),
    project_id integer,
    kind varchar(10) NOT NULL,
    action varchar(40) NOT NULL,
    surface varchar(10) NOT NULL,
    actor_type varchar(10) NOT NULL,
    actor_id varchar(64) NOT NULL DEFAULT '',
    actor_name varchar(200) NOT NULL DEFAULT '',
    actor_label varchar(200) NOT NULL DEFAULT '',
    role varchar(10) NOT NULL DEFAULT '',
    ip inet,
    user_agent varchar(500) NOT NULL DEFAULT '',
    request_id varchar(64) NOT NULL DEFAULT '',
    path varchar(500) NOT NULL DEFAULT '',
    entities text[] NOT NULL DEFAULT '{}',
    filters jsonb,
    query text,
    memory_ids uuid[] NOT NULL DEFAULT '{}',
    total integer,
    target varchar(300) NOT NULL DEFAULT '',
    details jsonb,
    PRIMARY KEY (at, id)
) PARTITION BY RANGE (at);

CREATE TABLE audit_log_default PARTITION OF audit_log DEFAULT;

-- The questions an auditor asks: a project's log newest first (keyset on at, id), what was
-- read of an entity or a memory, what an actor did.
CREATE INDEX audit_log_recent_idx ON audit_log (project_id, at DESC, id DESC);
CREATE INDEX audit_log_entities_gin ON audit_log USING gin (entities);
CREATE INDEX audit_log_memories_gin ON audit_log USING gin (memory_ids);
CREATE INDEX audit_log_actor_idx ON audit_log (project_id, actor_label, at DESC);

CREATE FUNCTION memdash_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND current_setting('memdash.audit_redaction', true) = 'on'
       AND (NEW.id, NEW.at, NEW.project_id, NEW.kind, NEW.action, NEW.surface, NEW.actor_type,
            NEW.actor_id, NEW.actor_name, NEW.actor_label, NEW.role, NEW.ip, NEW.user_agent,
            NEW.request_id, NEW.entities, NEW.memory_ids, NEW.total, NEW.target, NEW.details)
           IS NOT DISTINCT FROM
           (OLD.id, OLD.at, OLD.project_id, OLD.kind, OLD.action, OLD.surface, OLD.actor_type,
            OLD.actor_id, OLD.actor_name, OLD.actor_label, OLD.role, OLD.ip, OLD.user_agent,
            OLD.request_id, OLD.entities, OLD.memory_ids, OLD.total, OLD.target, OLD.details)
    THEN
        RETURN NEW;  -- an erasure redacting the request's free text, nothing else
    END IF;
    RAISE EXCEPTION 'the audit log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION memdash_audit_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION memdash_audit_append_only();
"""

DROP = """
DROP TABLE IF EXISTS audit_log CASCADE;
DROP FUNCTION IF EXISTS memdash_audit_append_only();
"""


def create_partitions(apps, schema_editor):
    from audit.partitions import ensure_partitions

    ensure_partitions(connection=schema_editor.connection)


class Migration(migrations.Migration):
    initial = True
    dependencies = []

    operations = [
        migrations.RunSQL(CREATE, DROP),
        migrations.RunPython(create_partitions, migrations.RunPython.noop),
    ]
