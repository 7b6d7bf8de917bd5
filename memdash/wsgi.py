"""The WSGI application gunicorn serves (memdash.wsgi:application)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "memdash.settings")
django_application = get_wsgi_application()

from core.middleware import refuse_unreadable_requests  # noqa: E402 (needs settings)

application = refuse_unreadable_requests(django_application)
