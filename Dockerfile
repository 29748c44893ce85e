# syntax=docker/dockerfile:1
# Two stages: build a wheel with build tools, then install it into a slim image that has no
# compiler, runs as a non-root user and checks its own health on /healthz.

FROM python:3.11-slim AS build
WORKDIR /src
RUN pip install --no-cache-dir build
COPY pyproject.toml README.md ./
COPY tracker ./tracker
RUN python -m build --wheel --outdir /wheels

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    TRACKER_HOST=0.0.0.0 \
    TRACKER_PORT=8000
RUN useradd --create-home --uid 10001 tracker
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
WORKDIR /app
COPY --chown=tracker:tracker config ./config
COPY --chown=tracker:tracker seeds ./seeds
USER tracker
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('TRACKER_PORT', '8000'), timeout=4)"]
CMD ["tracker", "serve"]
