# Production image: the same code runs as web (gunicorn), worker, beat and bounce server.
FROM python:3.11-slim AS app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 VAR_DIR=/srv/var STATIC_ROOT=/srv/static \
    MEDIA_ROOT=/srv/media
WORKDIR /srv/app
COPY pyproject.toml README.md ./
COPY mailer ./mailer
COPY subscribers ./subscribers
COPY templates ./templates
COPY examples ./examples
COPY manage.py ./
RUN pip install --no-cache-dir -e ".[prod]" && mkdir -p /srv/var /srv/media \
    && useradd --system app && chown app /srv/var /srv/media
# Static files are collected into the image (hashed copies for WhiteNoise). collectstatic
# needs settings but no service: placeholders stand in for the production variables here
# only; the real ones come from the environment at run time.
RUN DEBUG=0 SECRET_KEY=collectstatic-only SITE_URL=https://build.invalid \
    DATABASE_URL=sqlite:////tmp/build.sqlite3 CELERY_BROKER_URL=redis://build.invalid:6379/0 \
    SMTP_URL=smtp://build.invalid:25 newsletter collectstatic --noinput
USER app
EXPOSE 8000
CMD ["gunicorn", "mailer.wsgi:application", "--preload", "--bind", "0.0.0.0:8000", "--workers", "3"]
