# syntax=docker/dockerfile:1
# nginx-ingress-py: the controller and NGINX in one slim image (docs/deployment.md).
#
# NGINX OSS, Debian's nginx-light and its stream module:
#   docker build -t nginx-ingress-py:0.1.0.dev0 .
# NGINX Plus is licensed: build on your own NGINX Plus image (Debian 12 based, with NGINX
# Plus installed, pinned by digest), never on a public one:
#   docker build --build-arg BASE_IMAGE=registry.example/nginx-plus@sha256:... \
#       --build-arg NGINX=plus -t registry.example/nginx-ingress-py-plus:0.1.0.dev0 .
#
# Runs as UID 101 with a read-only root file system: the chart mounts emptyDirs on the
# directories created writable below (tests/deploy/test_dockerfile.py keeps the two lists
# equal). /etc/nginx starts empty: the controller writes every file there, and takes over
# only an empty directory or one it wrote. tini is PID 1 because the controller does not reap processes it did not start
# (NGINX workers orphaned by a dying master).

ARG DEBIAN_IMAGE=debian:bookworm-slim@sha256:3783cc01769c7b2b1b83a5c5ad96c815348e28ed7da68e2e3687004faa906251
ARG BASE_IMAGE=${DEBIAN_IMAGE}

# Wheels of the product and of its pinned dependencies; only /wheels leaves this stage. The
# project's sources come in through .dockerignore's allow list: src/, pyproject.toml and
# README.md, never devtools/ or tests/.
FROM ${DEBIAN_IMAGE} AS wheels
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv \
    && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md /src/
COPY src /src/src
RUN python3 -m venv /build \
    && /build/bin/pip install --no-cache-dir --upgrade pip \
    && /build/bin/pip wheel --no-cache-dir --wheel-dir /wheels /src

FROM ${BASE_IMAGE}
ARG NGINX=oss
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN set -eu; \
    apt-get update; \
    if [ "$NGINX" = oss ]; then \
        apt-get install -y --no-install-recommends nginx-light libnginx-mod-stream; \
    fi; \
    apt-get install -y --no-install-recommends python3 python3-venv tini libcap2-bin; \
    setcap cap_net_bind_service=+ep "$(command -v nginx)"; \
    apt-get purge -y libcap2-bin; \
    rm -rf /var/lib/apt/lists/*; \
    if ! getent passwd nginx >/dev/null; then \
        groupadd --system --gid 101 nginx; \
        useradd --system --uid 101 --gid 101 --no-create-home --home-dir /nonexistent \
            --shell /usr/sbin/nologin nginx; \
    fi; \
    test "$(id -u nginx)" = 101; \
    rm -rf /etc/nginx; \
    for directory in /etc/nginx /var/lib/nginx /var/cache/nginx /var/log/nginx; do \
        mkdir -p "$directory"; chown -R 101:101 "$directory"; \
    done
RUN --mount=type=bind,from=wheels,source=/wheels,target=/wheels \
    python3 -m venv /opt/nginx-ingress \
    && /opt/nginx-ingress/bin/pip install --no-cache-dir --no-index --find-links /wheels \
        nginx-ingress-py \
    && /opt/nginx-ingress/bin/pip uninstall -y pip \
    && /opt/nginx-ingress/bin/nginx-ingress version \
    && nginx -v
USER 101:101
ENTRYPOINT ["/usr/bin/tini", "--", "/opt/nginx-ingress/bin/nginx-ingress"]
CMD ["run", "--help"]
