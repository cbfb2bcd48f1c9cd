#!/usr/bin/env bash
# What `make test-containers` needs before it builds the project's image: Podman from Debian's
# packages, set up for this kind of VM, and local stand-ins for the base images the Dockerfile
# and docker-compose.yml name (python:3.11-slim, redis:7.4-bookworm, postgres:15-bookworm),
# since no registry of images can be reached here. Each step is skipped when already done.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

missing=()
for tool in podman runc debootstrap; do
    command -v "$tool" >/dev/null || missing+=("$tool")
done
if [[ ${#missing[@]} -gt 0 ]]; then
    if [[ $(id -u) -ne 0 ]]; then
        echo "make test-containers needs: ${missing[*]} (sudo apt-get install ${missing[*]})" >&2
        exit 1
    fi
    echo "Installing ${missing[*]} from Debian's packages..."
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# crun and the default ulimits are refused inside this kind of VM; there is no systemd to
# manage cgroups. Written only when the machine has no containers.conf of its own.
conf=/etc/containers/containers.conf
if [[ ! -e $conf ]]; then
    if [[ $(id -u) -ne 0 ]]; then
        echo "write $conf as root (see tests/containers/containers.conf)" >&2
        exit 1
    fi
    install -D -m 0644 "$here/containers.conf" "$conf"
fi

base=localhost/pedidos-debian:bookworm
if ! podman image exists "$base"; then
    # The Debian mirror apt already uses, so the base comes from where packages come from.
    mirror=$(apt-cache policy 2>/dev/null | awk '$3 == "bookworm/main" {print $2; exit}')
    mirror=${mirror:-http://deb.debian.org/debian}
    root=$(mktemp -d)
    trap 'rm -rf "$root"' EXIT
    echo "Making $base with debootstrap from $mirror..."
    debootstrap --variant=minbase bookworm "$root" "$mirror" >/dev/null
    # As slim as the official images: no package cache or lists (each image's apt-get update
    # fetches its own).
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin \
        "$root"/var/lib/apt/lists/*
    tar -C "$root" -c . | podman import --quiet - "$base" >/dev/null
    rm -rf "$root"
fi

# Tagged with the names the project's files use, so the Dockerfile and compose stay unchanged.
build_standin() {
    local name=$1 file=$2
    podman image exists "$name" && return 0
    echo "Building the stand-in $name..."
    podman build --quiet --network host -f "$here/standins/$file" -t "$name" "$here/standins" \
        >/dev/null
}
build_standin docker.io/library/python:3.11-slim python.Containerfile
build_standin docker.io/library/redis:7.4-bookworm redis.Containerfile
build_standin docker.io/library/postgres:15-bookworm postgres.Containerfile
