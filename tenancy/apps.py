from django.apps import AppConfig


class TenancyConfig(AppConfig):
    """Organizations, projects, API keys, memberships and roles.

    The label stays "memdash" (the app's name before the project package held only config), so
    migrations, content types and permission names keep their rows.
    """

    name = "tenancy"
    label = "memdash"
    verbose_name = "Tenancy"
