from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The model-free core: errors, text checks, keyset pages, htmx helpers, API base parts.

    An app only so that Django finds its template tags; it has no models and imports no app.
    """

    name = "core"
