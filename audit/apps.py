from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Access log and audit trail"

    def ready(self) -> None:
        from audit import signals

        signals.connect()
