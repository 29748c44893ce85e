# syntax=docker/dockerfile:1
# Two stages: install the service and its dependencies into a virtual environment with build
# tools, then copy that environment into a slim image that has no compiler, runs as a non-root
# user and checks its own health on /healthz.
#
# BASE_IMAGE: the Python 3.11 image both stages start from (Debian-based, with the venv module).
# The default is the official image; the compose smoke test (tests/deploy) passes one it made
# from Debian's packages because it has no registry to pull from.
# wheelhouse/: when it holds wheels (`pip wheel --wheel-dir wheelhouse ...`), every package is
# installed from there and no package index is asked; when it holds none, pip uses PyPI.
ARG BASE_IMAGE=python:3.11-slim

FROM ${BASE_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
RUN python3 -m venv /opt/venv
COPY wheelhouse/ /wheelhouse/
WORKDIR /src
COPY pyproject.toml README.md ./
COPY tracker ./tracker
RUN if ls /wheelhouse/*.whl >/dev/null 2>&1; then \
        export PIP_NO_INDEX=1 PIP_FIND_LINKS=/wheelhouse; \
    fi; \
    /opt/venv/bin/pip install /src

FROM ${BASE_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    TRACKER_HOST=0.0.0.0 \
    TRACKER_PORT=8000
RUN useradd --create-home --uid 10001 tracker
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY --chown=tracker:tracker config ./config
COPY --chown=tracker:tracker seeds ./seeds
USER tracker
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('TRACKER_PORT', '8000'), timeout=4)"]
CMD ["tracker", "serve"]
