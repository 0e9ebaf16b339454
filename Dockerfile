# chatra-bridge: a small image, run as a non-root user, the database on a volume.
#   docker build -t chatra-bridge .
#   docker run --env-file .env -p 3000:3000 -v chatra-data:/data chatra-bridge
# Reproducible: pip, the build backend and every runtime dependency come pinned from
# requirements-build.lock and requirements.lock. Offline: see wheelhouse/README.md.
FROM python:3.11-slim AS build
ARG PIP_NO_INDEX=
ENV PIP_NO_INDEX=${PIP_NO_INDEX} PIP_FIND_LINKS=/src/wheelhouse PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY wheelhouse ./wheelhouse
COPY requirements-build.lock requirements.lock pyproject.toml README.md ./
RUN pip install -r requirements-build.lock
# Dependencies first, from the lock only: this layer is reused until the lock changes.
RUN pip wheel --wheel-dir /wheels -r requirements.lock
COPY bot ./bot
COPY handlers ./handlers
COPY storage ./storage
COPY sandbox ./sandbox
RUN pip wheel --no-deps --no-build-isolation --wheel-dir /wheels .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 bridge && mkdir /data /backups \
    && chown bridge /data /backups
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links /wheels /wheels/*.whl && rm -rf /wheels
USER bridge
WORKDIR /home/bridge
ENV DATABASE_PATH=/data/chatra-bridge.db \
    HOST=0.0.0.0 \
    PORT=3000 \
    LOG_FORMAT=json \
    PYTHONUNBUFFERED=1
VOLUME ["/data", "/backups"]
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"PORT\"]}/healthz', timeout=4)"
# SIGTERM stops it gracefully: accepted events are in SQLite, finished at the next start.
CMD ["chatra-bridge", "serve"]
