"""gunicorn settings for production (`gunicorn wsgi:app`), all from the environment."""

import multiprocessing
import os

bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"  # noqa: S104  (inside a container)
workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count() * 2 + 1)
threads = int(os.environ.get("GUNICORN_THREADS") or 1)
timeout = int(os.environ.get("GUNICORN_TIMEOUT") or 30)
# Workers are recycled now and then so slow leaks never grow past the memory budget.
max_requests = 2000
max_requests_jitter = 200
accesslog = "-"
errorlog = "-"
# The TLS proxy in front sets X-Forwarded-*; the app trusts them only with TRUSTED_PROXIES set.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
