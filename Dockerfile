# syntax=docker/dockerfile:1
# Skeleton image (the deployment issue completes it): one image, the command picks the role.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml setup.cfg README.md ./
COPY engine ./engine
COPY workers ./workers
COPY webui ./webui
COPY plugins ./plugins
COPY migrations ./migrations
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 loom
COPY --from=build /install /usr/local
COPY dags /opt/loom/dags
USER loom
WORKDIR /opt/loom
ENV LOOM_HOME=/opt/loom/home LOOM__CORE__DAGS_FOLDER=/opt/loom/dags
ENTRYPOINT ["loom"]
CMD ["--help"]
