# Kehu CRM production image: gunicorn as a non-root user, serving wsgi:app.
# Build:    docker build -t kehu .
# Migrate:  docker run --rm --env-file .env kehu flask --app wsgi db upgrade   (uses MIGRATION_DATABASE_URL)
# Serve:    docker run -p 8000:8000 --env-file .env kehu
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    KEHU_ENV=production \
    PORT=8000

WORKDIR /app
COPY requirements.lock ./
RUN pip install -r requirements.lock

COPY wsgi.py gunicorn.conf.py babel.cfg ./
COPY crm ./crm
COPY templates ./templates
COPY static ./static
COPY migrations ./migrations
RUN pybabel compile -d crm/translations -l zh_Hans \
    && useradd --system --create-home --uid 10001 kehu \
    && mkdir -p instance && chown kehu instance

USER kehu
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD python -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"PORT\"]}/healthz', timeout=4)"
CMD ["gunicorn", "--config", "gunicorn.conf.py", "wsgi:app"]
