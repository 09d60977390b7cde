# syntax=docker/dockerfile:1
# Builder: wheels for the project and its dependencies (compilers stay in this stage).
FROM python:3.12-slim AS builder
WORKDIR /src
RUN python -m pip install --no-cache-dir --upgrade pip==25.3
COPY pyproject.toml README.md ./
COPY gateway ./gateway
COPY scheduler ./scheduler
RUN python -m pip wheel --no-cache-dir --wheel-dir /wheels .

# Final: the wheels installed, no build tools, a non-root user.
FROM python:3.12-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    WXGATE_HOST=0.0.0.0 \
    WXGATE_PORT=8080 \
    WXGATE_LOG_FORMAT=json \
    WXGATE_SQL_DIR=/app/sql
WORKDIR /app
COPY --from=builder /wheels /wheels
RUN python -m pip install --no-cache-dir --no-index --find-links=/wheels wxgate \
    && rm -rf /wheels \
    && useradd --system --uid 10001 --home-dir /app wxgate
COPY sql ./sql
USER 10001
EXPOSE 8080
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os,urllib.request;urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"WXGATE_PORT\",\"8080\")}/healthz',timeout=2)"]
CMD ["wxgate", "serve"]
