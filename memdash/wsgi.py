import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "memdash.settings")
application = get_wsgi_application()

from core.middleware import refuse_unreadable_charsets  # noqa: E402 (needs settings)

application = refuse_unreadable_charsets(application)
