# syntax=docker/dockerfile:1
# One image for every Loom process; its command picks the role:
#   webserver | scheduler | worker | notifier | migrate | wait-for-migrations | any command
# (deploy/docker/entrypoint.sh). Build from the repository root:
#   docker build -t loom .
# Bring your own DAGs by building on it: FROM loom / COPY dags /opt/loom/dags

FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/venv
WORKDIR /src
COPY pyproject.toml setup.cfg README.md ./
COPY engine ./engine
COPY workers ./workers
COPY webui ./webui
COPY plugins ./plugins
COPY migrations ./migrations
# Optional extras, e.g. --build-arg LOOM_EXTRAS=ssm for `ssm:` configuration values.
ARG LOOM_EXTRAS=""
RUN /opt/venv/bin/pip install --no-cache-dir ".${LOOM_EXTRAS:+[$LOOM_EXTRAS]}"

FROM python:3.11-slim AS runtime
LABEL org.opencontainers.image.title="Loom" \
      org.opencontainers.image.description="Loom: an Airflow-style workflow engine" \
      org.opencontainers.image.licenses="Apache-2.0"
# A numeric user, so that Kubernetes can verify runAsNonRoot.
RUN groupadd --system --gid 10001 loom \
    && useradd --system --uid 10001 --gid loom --home-dir /opt/loom --no-create-home loom \
    && mkdir -p /opt/loom/home \
    && chown loom:loom /opt/loom/home
COPY --from=build /opt/venv /opt/venv
COPY --chmod=0755 deploy/docker/entrypoint.sh /usr/local/bin/loom-entrypoint
COPY --chmod=0755 deploy/docker/healthcheck.py /usr/local/bin/loom-healthcheck
COPY dags /opt/loom/dags
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    LOOM_HOME=/opt/loom/home \
    LOOM__CORE__DAGS_FOLDER=/opt/loom/dags \
    LOOM__WEBSERVER__HOST=0.0.0.0 \
    LOOM__METRICS__HOST=0.0.0.0
WORKDIR /opt/loom
USER 10001:10001
# webserver 8080 (UI, /api/v2, /metrics); metrics of scheduler 9101, worker 9102, notifier 9103
EXPOSE 8080 9101 9102 9103
# Without an argument the check passes when this container's endpoint answers: the
# webserver's /api/v2/monitor/health (database healthy) or a process's /metrics.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD ["loom-healthcheck"]
ENTRYPOINT ["loom-entrypoint"]
CMD ["webserver"]
