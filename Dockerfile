# Maillage in a slim image; the config is mounted at /config, secrets come from the environment.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY adapters ./adapters
COPY scenarios ./scenarios
RUN pip install --upgrade pip && pip install .

RUN useradd --create-home --uid 10001 maillage && mkdir -p /data && chown maillage /data
USER maillage
WORKDIR /data
VOLUME ["/data"]
EXPOSE 3000

CMD ["maillage", "run", "-c", "/config/config.toml"]
