FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 STATIC_ROOT=/app/staticfiles
RUN useradd --create-home --uid 1000 silverpool && install -d -o silverpool /app
WORKDIR /app
COPY pyproject.toml ./
RUN pip install --upgrade pip && pip install .
COPY --chown=silverpool . .
USER silverpool
# Collected under production settings, so the manifest of hashed names the pages link to exists. The values
# are placeholders for settings that refuse to load without them: nothing connects to anything here.
RUN SILVERPOOL_ENV=production SECRET_KEY=build-only-placeholder SUPPRESSION_HASH_KEY=build-only-placeholder \
    ALLOWED_HOSTS=localhost SITE_URL=http://localhost:8000 ANYMAIL_WEBHOOK_SECRET=build:placeholder \
    DATABASE_URL=postgres://build@localhost/build REDIS_URL=redis://localhost:6379/0 EMAIL_URL=smtp://localhost:25 \
    python manage.py collectstatic --no-input -v 0
EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
