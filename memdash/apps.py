from django.apps import AppConfig


class MemdashConfig(AppConfig):
    name = "memdash"
    verbose_name = "Tenancy"
