# LabelStack: one application container.
#
# Runs `labelstack serve` on port 8080. With no settings it uses the embedded
# defaults: a SQLite database and the local image store, both in the /data
# volume. Point it elsewhere with the usual environment variables:
#   LABELSTACK_DATABASE_URL      e.g. postgresql://labelstack:pw@db:5432/labelstack
#   LABELSTACK_SECRET_KEY        else generated once and kept in /data/secret.key
#   LABELSTACK_DICOMWEB_URL      e.g. http://orthanc:8042/dicom-web (unset = local store)
#   LABELSTACK_DICOMWEB_USERNAME / LABELSTACK_DICOMWEB_PASSWORD
# The schema is migrated at start.
#
# Base image: no registry is reachable on the development hosts, so the default
# is a Debian bookworm + python3 image made locally with mmdebstrap
# (deploy/base/build-base-image; scripts/container-check builds it when it is
# missing). Where a registry is available the official image works unchanged:
#   docker build --build-arg BASE_IMAGE=python:3.11-slim-bookworm -t labelstack .
# Build with podman as `podman build --format docker ...` so that HEALTHCHECK is
# kept (the OCI image format has no health checks).

ARG BASE_IMAGE=localhost/labelstack-base:bookworm

# ---------------------------------------------------------------- build stage
FROM ${BASE_IMAGE} AS build

# pip checks TLS against the system CA bundle rather than its own copy, so a
# build behind a TLS-intercepting proxy works when the host's bundle is mounted
# over it for the build (scripts/container-check does that; nothing of it ends
# up in the image).
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt \
    PYTHONDONTWRITEBYTECODE=1

RUN python3 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

# Dependencies first, from pyproject.toml alone, so that a change to the code
# does not reinstall them.
COPY pyproject.toml /src/pyproject.toml
RUN python3 -c 'import tomllib; print("\n".join(tomllib.load(open("/src/pyproject.toml", "rb"))["project"]["dependencies"]))' > /tmp/requirements.txt \
 && pip install --upgrade pip \
 && pip install -r /tmp/requirements.txt

# Then the package itself, from the checkout.
COPY . /src
RUN pip install --no-deps /src \
 && labelstack --help >/dev/null

# -------------------------------------------------------------- runtime stage
FROM ${BASE_IMAGE}

# Shared libraries the wheels load at run time: VTK renders off screen through
# EGL with Mesa's llvmpipe (libegl1 + libegl-mesa0 + libgl1-mesa-dri, libopengl0,
# libgl1, X11 client libraries it links against), OpenCV and VTK use OpenMP
# (libgomp1), OpenCV headless wants GLib. tini reaps the 3D-view subprocesses
# and forwards signals.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        ca-certificates \
        libegl1 libegl-mesa0 libgl1 libgl1-mesa-dri libopengl0 libglx-mesa0 \
        libgomp1 libglib2.0-0 \
        libx11-6 libxext6 libxrender1 libxcursor1 libxfixes3 libxft2 libxinerama1 \
        tini \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*

RUN groupadd --system --gid 10001 labelstack \
 && useradd --system --uid 10001 --gid 10001 --create-home --home-dir /home/labelstack \
        --shell /usr/sbin/nologin labelstack \
 && mkdir -p /data \
 && chown labelstack:labelstack /data

COPY --from=build /opt/venv /opt/venv

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    LABELSTACK_DATA_DIR=/data \
    VTK_DEFAULT_OPENGL_WINDOW=vtkEGLRenderWindow \
    MPLCONFIGDIR=/tmp/matplotlib

USER labelstack
# The working directory is the data volume: anything the app or its libraries
# keep relative to the current directory (NiceGUI's .nicegui storage, an
# optional .env with LABELSTACK_* settings) persists with the data.
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080

HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python3", "-c", "import json, sys, urllib.request; r = urllib.request.urlopen('http://127.0.0.1:8080/api/v1/health', timeout=4); sys.exit(0 if r.status == 200 and json.load(r).get('database') == 'ok' else 1)"]

ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["labelstack", "serve", "--host", "0.0.0.0", "--port", "8080"]
