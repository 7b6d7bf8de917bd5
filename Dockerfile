# Production image: gunicorn for the web, the same image for Celery workers and beat.
# (Docker cannot run on the development machines; see README "Production".)
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# The runtime lock only (hashed): no test, lint or benchmark tools in the image.
COPY requirements.lock ./
RUN pip install --no-cache-dir uv==0.13.9 \
 && uv pip install --system --no-cache --require-hashes -r requirements.lock

COPY . .
# Settings start no database, so collecting static files needs none.
RUN python manage.py collectstatic --noinput -v0

RUN useradd --system --uid 1000 memdash
USER memdash
EXPOSE 8000
CMD ["gunicorn", "memdash.wsgi", "-c", "python:memdash.gunicorn_conf", "--bind", "0.0.0.0:8000", "--workers", "4", "--access-logfile", "-"]
