#!/usr/bin/env bash
# Build local stand-ins for the official postgres:alpine and redis:alpine
# images from Debian bookworm packages, without any container registry.
# Idempotent: does nothing when the images already carry the current key.
# See tests/images/README.md.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${HOLDFAST_IMAGE_CACHE:-/var/cache/holdfast-test-images}"
SUITE=bookworm
PACKAGES="postgresql,redis-server,gosu,ca-certificates"
BASE_TAG="holdfast-test/base:bookworm"
PG_TAGS=(holdfast-test/postgres:15 postgres:alpine)
REDIS_TAGS=(holdfast-test/redis:7 redis:alpine)
LABEL=org.holdfast.test-image

say() { printf '[holdfast-images] %s\n' "$*"; }
die() { printf '[holdfast-images] ERROR: %s\n' "$*" >&2; exit 1; }

command -v docker >/dev/null 2>&1 || die "docker CLI not found"
docker info >/dev/null 2>&1 || die "docker daemon not reachable (is it running, do you have access?)"

ARCH="$(dpkg --print-architecture 2>/dev/null || echo amd64)"
ROOTFS_KEY="$( { echo "$SUITE $ARCH $PACKAGES"; cat "${BASH_SOURCE[0]}"; } | sha256sum | cut -c1-16)"
IMAGE_KEY="$( { echo "$ROOTFS_KEY"; cat "$HERE"/postgres/* "$HERE"/redis/*; } | sha256sum | cut -c1-16)"

image_key() {  # prints the key label of an image, "foreign" if not ours, "" if absent
  local labels
  docker image inspect "$1" >/dev/null 2>&1 || return 0
  labels="$(docker image inspect -f '{{range $k, $v := .Config.Labels}}{{$k}}={{$v}}{{"\n"}}{{end}}' "$1")"
  if grep -qx "$LABEL=1" <<<"$labels"; then
    sed -n "s/^$LABEL\.key=//p" <<<"$labels"
  else
    echo foreign
  fi
}

# Alias tags (postgres:alpine, ...) are only (re)pointed at our images if they
# are absent or already ours: a real upstream image is never clobbered unless
# HOLDFAST_REPLACE_IMAGES=1.
may_tag() {
  local k; k="$(image_key "$1")"
  [ "$k" != foreign ] || [ "${HOLDFAST_REPLACE_IMAGES:-0}" = 1 ]
}

up_to_date() {
  local t k
  for t in "${PG_TAGS[@]}" "${REDIS_TAGS[@]}"; do
    k="$(image_key "$t")"
    if [ "$k" = foreign ] && ! may_tag "$t"; then
      say "  $t is not a holdfast test image; leaving it alone (HOLDFAST_REPLACE_IMAGES=1 replaces it)"
      continue
    fi
    [ "$k" = "$IMAGE_KEY" ] || return 1
  done
}

say "phase 1/5: check images (key $IMAGE_KEY)"
if up_to_date; then
  say "images up to date, nothing to do (${SECONDS}s)"
  exit 0
fi

mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock -w 3600 9 || die "could not lock $CACHE/.lock"
if up_to_date; then  # another process built them while we waited
  say "images up to date, nothing to do (${SECONDS}s)"
  exit 0
fi

TARBALL="$CACHE/rootfs-$SUITE-$ARCH-$ROOTFS_KEY.tar.gz"
VERSIONS="$CACHE/rootfs-$SUITE-$ARCH-$ROOTFS_KEY.versions"

find_mirror() {  # the bookworm mirror configured for apt on this machine
  if [ -n "${HOLDFAST_DEBIAN_MIRROR:-}" ]; then echo "$HOLDFAST_DEBIAN_MIRROR"; return; fi
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -e "$f" ] || continue
    # deb822: first URI of an enabled "deb" stanza whose Suites has exactly $SUITE
    awk -v suite="$SUITE" '
      function flush() { if (deb && ok && uri != "" && !off) { print uri; found = 1; exit } deb = ok = off = 0; uri = "" }
      /^[[:space:]]*$/ { flush(); next }
      /^[[:space:]]*#/ { next }
      tolower($1) == "types:"   { for (i = 2; i <= NF; i++) if ($i == "deb") deb = 1 }
      tolower($1) == "uris:"    { uri = $2 }
      tolower($1) == "suites:"  { for (i = 2; i <= NF; i++) if ($i == suite) ok = 1 }
      tolower($1) == "enabled:" { if (tolower($2) == "no") off = 1 }
      END { if (!found) flush() }' "$f" | head -n1
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -e "$f" ] || continue
    # one-line format: deb [options] URI SUITE components...
    sed -E 's/\[[^]]*\]//' "$f" | awk -v suite="$SUITE" '$1 == "deb" && $3 == suite { print $2; exit }'
  done
}

WORK=""
cleanup() {
  [ -n "$WORK" ] && [ -d "$WORK" ] || return 0
  # debootstrap may leave proc/sys mounted on failure: unmount before deleting
  awk -v w="$WORK/" 'index($2, w) == 1 { print $2 }' /proc/mounts | sort -r | while read -r m; do
    umount -l "$m" || true
  done
  rm -rf --one-file-system "$WORK"
}
trap cleanup EXIT

if [ -s "$TARBALL" ] && [ -s "$VERSIONS" ]; then
  say "phase 2/5: rootfs cached at $TARBALL"
else
  [ "$(id -u)" = 0 ] || die "building the rootfs needs root (debootstrap); run as root once to fill $CACHE"
  if ! command -v debootstrap >/dev/null 2>&1; then
    say "phase 2/5: installing debootstrap with apt-get"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap; } >/dev/null \
      || die "apt-get install debootstrap failed"
  fi
  MIRROR="$(find_mirror | head -n1)"
  [ -n "$MIRROR" ] || die "no $SUITE mirror found in the apt sources (set HOLDFAST_DEBIAN_MIRROR)"
  WORK="$(mktemp -d "$CACHE/work.XXXXXX")"
  ROOT="$WORK/rootfs"
  say "phase 2/5: debootstrap $SUITE ($PACKAGES) from $MIRROR"
  if ! debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$ROOT" "$MIRROR" >"$WORK/debootstrap.log" 2>&1; then
    tail -n 30 "$WORK/debootstrap.log" >&2
    [ -f "$ROOT/debootstrap/debootstrap.log" ] && tail -n 30 "$ROOT/debootstrap/debootstrap.log" >&2
    die "debootstrap failed (log above)"
  fi
  # shellcheck disable=SC2016  # ${Version} is a dpkg-query format field
  upstream() { chroot "$ROOT" dpkg-query -W -f='${Version}' "$1" | sed -E 's/^[0-9]+://; s/[-+~].*$//'; }
  # shellcheck disable=SC2016
  pkgver() { chroot "$ROOT" dpkg-query -W -f='${Version}' "$1"; }
  {
    echo "PG_VERSION=$(upstream postgresql-15)"
    echo "PG_DEBIAN_VERSION=$(pkgver postgresql-15)"
    echo "REDIS_VERSION=$(upstream redis-server)"
    echo "REDIS_DEBIAN_VERSION=$(pkgver redis-server)"
  } >"$WORK/versions"
  # postgresql-common creates a "main" cluster on install; the images use $PGDATA instead.
  rm -rf "$ROOT"/var/lib/postgresql/15 "$ROOT"/etc/postgresql/15
  # JIT only (libLLVM is ~100 MB); postgres just runs without it. Translations too.
  rm -rf "$ROOT"/usr/lib/postgresql/15/lib/llvmjit* "$ROOT"/usr/lib/postgresql/15/lib/bitcode \
    "$ROOT"/usr/lib/*/libLLVM-*.so* "$ROOT"/usr/share/locale/*
  rm -rf "$ROOT"/var/cache/apt/archives/*.deb "$ROOT"/var/cache/apt/*.bin "$ROOT"/var/lib/apt/lists/* \
    "$ROOT"/usr/share/doc/* "$ROOT"/usr/share/man/* "$ROOT"/usr/share/info/* "$ROOT"/var/log/*.log
  say "phase 2/5: packing rootfs into $TARBALL"
  tar --numeric-owner -C "$ROOT" --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' \
    -czf "$WORK/rootfs.tar.gz" . || die "tar of the rootfs failed"
  rm -f "$CACHE"/rootfs-*.tar.gz "$CACHE"/rootfs-*.versions  # drop stale keys
  mv "$WORK/versions" "$VERSIONS"
  mv "$WORK/rootfs.tar.gz" "$TARBALL"
fi
# shellcheck disable=SC1090
. "$VERSIONS"

if [ "$(image_key "$BASE_TAG")" = "$ROOTFS_KEY" ]; then
  say "phase 3/5: base image $BASE_TAG up to date"
else
  say "phase 3/5: docker import $BASE_TAG"
  docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change "LABEL $LABEL=1 $LABEL.key=$ROOTFS_KEY" \
    --change 'CMD ["/bin/bash"]' \
    "$TARBALL" "$BASE_TAG" >/dev/null || die "docker import failed"
fi

build() {  # build <context dir> <debian version> <tags...>
  local ctx="$1" debver="$2" t args=(); shift 2
  for t in "$@"; do
    if may_tag "$t"; then args+=(-t "$t"); fi
  done
  DOCKER_BUILDKIT=0 docker build "${args[@]}" \
    --label "$LABEL=1" --label "$LABEL.key=$IMAGE_KEY" --label "$LABEL.debian-version=$debver" \
    --build-arg "PG_VERSION=$PG_VERSION" --build-arg "REDIS_VERSION=$REDIS_VERSION" \
    "$ctx" >"$CACHE/build-$(basename "$ctx").log" 2>&1 \
    || { tail -n 30 "$CACHE/build-$(basename "$ctx").log" >&2; die "docker build of $ctx failed"; }
}

say "phase 4/5: docker build ${PG_TAGS[*]} (postgresql $PG_DEBIAN_VERSION)"
build "$HERE/postgres" "$PG_DEBIAN_VERSION" "${PG_TAGS[@]}"
say "phase 5/5: docker build ${REDIS_TAGS[*]} (redis-server $REDIS_DEBIAN_VERSION)"
build "$HERE/redis" "$REDIS_DEBIAN_VERSION" "${REDIS_TAGS[@]}"
# untagged leftovers of earlier builds of our own images only
docker image prune -f --filter "label=$LABEL=1" >/dev/null 2>&1 || true
say "done in ${SECONDS}s: ${PG_TAGS[*]} ${REDIS_TAGS[*]}"
