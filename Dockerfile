# syntax=docker/dockerfile:1
# idops service image. Build:  docker build -t idops .
# The image holds no configuration: mount yours at /app/config (idops.toml, region.toml, apps.toml).
# Run:   docker run -p 8000:8000 -v $PWD/config:/app/config:ro -e IDOPS_DATABASE__URL=postgresql+psycopg://… idops
# Scheduler (same image):  docker run … idops scheduler      (health: its [scheduler] metrics_port)
# Migrate (one-off):  docker run --rm -v … -e IDOPS_DATABASE__URL=… idops db upgrade
# Demo (the demo configuration inside the package, only under --demo):
#        docker run -p 8000:8000 idops serve --demo --host 0.0.0.0 --port 8000
# The root filesystem can be read-only: only /app/var (or a mounted volume) is written.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY requirements/runtime.lock requirements/build.lock requirements/
# Every dependency is pinned with hashes; pip refuses anything that does not match.
RUN python -m venv /opt/idops \
 && /opt/idops/bin/pip install --require-hashes --no-deps -r requirements/build.lock \
 && /opt/idops/bin/pip install --require-hashes --no-deps -r requirements/runtime.lock
COPY pyproject.toml README.md ./
COPY idops ./idops
COPY jobs ./jobs
RUN /opt/idops/bin/pip install --no-deps --no-build-isolation . \
 && /opt/idops/bin/python -m compileall -q /opt/idops/lib \
 && /opt/idops/bin/pip uninstall -y setuptools wheel

FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="idops" \
      org.opencontainers.image.description="Identity operations for a region's schools through Microsoft Graph"
# tini as PID 1: it forwards SIGTERM to idops (which then hands back its job units within
# [scheduler] shutdown_grace_seconds and exits 0) and reaps zombies.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini=0.19.0-1+b3 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 idops \
 && useradd --system --uid 10001 --gid idops --home-dir /app --no-create-home --shell /usr/sbin/nologin idops
COPY --from=build /opt/idops /opt/idops
WORKDIR /app
RUN install -d -m 0700 -o idops -g idops /app/var
# No IDOPS_CONFIG_DIR: a deployment's config is found at ./config (/app/config, mounted); without one,
# only `--demo` starts, on the demo configuration inside the package.
ENV PATH=/opt/idops/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    IDOPS_DATA_DIR=/app/var \
    IDOPS_LOGGING__FORMAT=json
USER 10001:10001
EXPOSE 8000 9464
# One probe per role, chosen from the container's command (idops/healthcheck.py): serve → /healthz on
# its --port; scheduler → /healthz on [scheduler] metrics_port; one-off commands → healthy.
HEALTHCHECK --interval=30s --timeout=5s --start-period=40s --retries=3 \
  CMD ["idops", "healthcheck"]
ENTRYPOINT ["/usr/bin/tini", "--", "idops"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
