# The example app image: tsz-otel installed from this checkout, running one example
# with its spans going to the compose stack's collector over OTLP/HTTP.
#
#   docker compose build app                  (from docker/; context is the repo root)
#   docker compose run --rm -e TSZ_MODE=block app
#   docker compose run --rm -e TSZ_EXAMPLE=streaming app
#
# Build context: the repository root (compose.yaml sets `context: ..`);
# app.Dockerfile.dockerignore keeps .venv, .git and caches out of it.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

COPY . /src
RUN pip install "/src[otlp,openai,redis]" \
    && cp -r /src/examples /app/examples \
    && rm -rf /src \
    && useradd --create-home --uid 10001 app

USER app

# Defaults for running inside the compose network; compose.yaml repeats them explicitly.
ENV TSZ_EXAMPLE=monitoring-demo \
    TSZ_MODE=observe \
    OTEL_SERVICE_NAME=tsz-otel-demo \
    OTEL_EXPORTER_OTLP_ENDPOINT=http://otel-collector:4318 \
    OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf

CMD ["sh", "-c", "exec python \"examples/${TSZ_EXAMPLE}/main.py\""]
