# Production image: the same code runs as web (gunicorn), worker and beat.
FROM python:3.11-slim AS app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 VAR_DIR=/srv/var
WORKDIR /srv/app
COPY pyproject.toml README.md ./
COPY mailer ./mailer
COPY subscribers ./subscribers
COPY templates ./templates
COPY examples ./examples
COPY manage.py ./
RUN pip install --no-cache-dir -e ".[prod]" && mkdir -p /srv/var && useradd --system app \
    && chown app /srv/var
USER app
EXPOSE 8000
CMD ["gunicorn", "mailer.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3"]
