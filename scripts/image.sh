#!/usr/bin/env bash
# The matcher image (matcher/Dockerfile), built with Docker where a daemon answers and otherwise
# with Debian's daemonless buildah on a base made of Debian bookworm packages (mmdebstrap), as
# root (vfs storage, chroot isolation). docs/deploy.md, "Matcher image".
#
#   scripts/image.sh build            build IMAGE (default trading-matcher:<git short sha>)
#   scripts/image.sh push REPO_URI    push IMAGE to ECR as REPO_URI:<tag>-<UTC time>, print REPO_URI@sha256:...
#   scripts/image.sh tool             print the builder in use: docker or buildah
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
IMAGE=${IMAGE:-trading-matcher:$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo dev)}
BASE_IMAGE=${BASE_IMAGE:-localhost/trading-base:bookworm}
BUILDAH=(buildah --storage-driver vfs)
# pip inside the build trusts the host's CA bundle when the host names one (PIP_CERT or pip.conf).
PIP_CERT=${PIP_CERT:-$(pip3 config get global.cert 2>/dev/null || true)}
CACHE=${IMAGE_CACHE_DIR:-${TMPDIR:-/tmp}/trading-image}

tool() {
    if [[ -z "${IMAGE_TOOL:-}" ]] && command -v docker >/dev/null && docker info >/dev/null 2>&1; then
        echo docker
    else
        echo "${IMAGE_TOOL:-buildah}"
    fi
}

debian_base() {
    # A python3 base from Debian packages (no registry image to pull): bookworm's CPython 3.11.
    if "${BUILDAH[@]}" inspect --type image "$BASE_IMAGE" >/dev/null 2>&1; then
        return
    fi
    mkdir -p "$CACHE"
    mmdebstrap --quiet --variant=apt --include=python3,python3-venv,passwd,ca-certificates \
        bookworm "$CACHE/rootfs.tar"
    local ctr
    ctr=$("${BUILDAH[@]}" from scratch)
    "${BUILDAH[@]}" add "$ctr" "$CACHE/rootfs.tar" /
    "${BUILDAH[@]}" config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$ctr"
    "${BUILDAH[@]}" commit --quiet "$ctr" "$BASE_IMAGE" >/dev/null
    "${BUILDAH[@]}" rm "$ctr" >/dev/null
    rm -f "$CACHE/rootfs.tar"
}

build() {
    case $(tool) in
        docker)
            docker build -f "$ROOT/matcher/Dockerfile" -t "$IMAGE" "$ROOT"
            ;;
        buildah)
            debian_base
            local ca=(${PIP_CERT:+--volume "$PIP_CERT:/run/build-ca.crt:ro" --build-arg BUILD_CA_BUNDLE=/run/build-ca.crt})
            "${BUILDAH[@]}" bud --isolation chroot --layers=false -f "$ROOT/matcher/Dockerfile" \
                --build-arg "BASE=$BASE_IMAGE" "${ca[@]}" -t "$IMAGE" "$ROOT"
            ;;
    esac
}

push() {
    # The repository's tags are immutable and a rebuild of the same commit is a different image:
    # each push gets its own tag (commit + UTC time); the deploy uses the digest anyway.
    local repo=$1 tag="${IMAGE##*:}-$(date -u +%Y%m%d%H%M%S)" region registry digest
    region=${AWS_REGION:-$(aws configure get region || echo us-east-1)}
    registry=${repo%%/*}
    aws ecr get-login-password --region "$region" | case $(tool) in
        docker) docker login --username AWS --password-stdin "$registry" >&2 ;;
        buildah) "${BUILDAH[@]}" login --username AWS --password-stdin "$registry" >&2 ;;
    esac
    case $(tool) in
        docker)
            docker tag "$IMAGE" "$repo:$tag"
            docker push "$repo:$tag" >&2
            digest=$(docker inspect --format '{{index .RepoDigests 0}}' "$repo:$tag")
            digest=${digest##*@}
            ;;
        buildah)
            local file
            file=$(mktemp)
            "${BUILDAH[@]}" push --digestfile "$file" "$IMAGE" "docker://$repo:$tag" >&2
            digest=$(cat "$file")
            rm -f "$file"
            ;;
    esac
    # The task definition gets the immutable digest: a new image is a new task definition revision.
    echo "$repo@$digest"
}

case ${1:-} in
    build) build ;;
    push) push "${2:?usage: scripts/image.sh push REPO_URI}" ;;
    tool) tool ;;
    *) sed -n '2,9p' "$0" >&2; exit 2 ;;
esac
