# syntax=docker/dockerfile:1
# Builder: the project and its dependencies installed into a virtual environment; build tools
# and wheel caches stay in this stage.
FROM python:3.12-slim AS builder
WORKDIR /src
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/wxgate
COPY pyproject.toml README.md ./
COPY gateway ./gateway
COPY scheduler ./scheduler
RUN /opt/wxgate/bin/pip install . \
    && /opt/wxgate/bin/pip uninstall -y pip \
    && python -m compileall -q /opt/wxgate/lib

# Final: the environment alone, a non-root user, configuration only through WXGATE_* variables.
FROM python:3.12-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/wxgate/bin:$PATH \
    WXGATE_HOST=0.0.0.0 \
    WXGATE_PORT=8080 \
    WXGATE_LOG_FORMAT=json \
    WXGATE_SQL_DIR=/app/sql
RUN useradd --system --uid 10001 --no-create-home --home-dir /app wxgate
WORKDIR /app
COPY --from=builder /opt/wxgate /opt/wxgate
COPY sql ./sql
USER 10001
EXPOSE 8080
# SIGTERM: in-flight callbacks are answered and a worker releases its leases before exiting.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('WXGATE_PORT', '8080'), timeout=2)"]
CMD ["wxgate", "serve"]
