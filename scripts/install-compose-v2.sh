#!/usr/bin/env bash
# Install Compose v2 (the `docker compose` CLI plugin) from Debian 13's `docker-compose`
# package without upgrading anything else: the package is a static Go binary that needs
# only libc6, so we download the .deb, unpack it, and copy the plugin into place.
# Compose v1 (`docker-compose`) stays as it is. Idempotent.
# The mirror is the one this machine's apt is already configured with (no host is named here).
set -euo pipefail

VERSION="${HOLDFAST_COMPOSE_V2_VERSION:-2.26.1-4}"
PLUGIN_DIR=/usr/local/lib/docker/cli-plugins
say() { printf '[compose-v2] %s\n' "$*"; }

if docker compose version >/dev/null 2>&1; then
    say "already installed: $(docker compose version --short 2>/dev/null || docker compose version)"
    exit 0
fi

# The first Debian mirror apt knows about (deb822 or one-line format).
mirror="$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null \
          | grep -v -- '-security' | head -n 1 || true)"
if [ -z "$mirror" ]; then
    mirror="$(sed -n 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]*\)[[:space:]].*/\2/p' \
              /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | grep -v -- '-security' | head -n 1 || true)"
fi
[ -n "$mirror" ] || { say "no Debian mirror configured in /etc/apt" >&2; exit 1; }

cat > /etc/apt/sources.list.d/holdfast-trixie.sources <<SRC
Types: deb
URIs: $mirror
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
cat > /etc/apt/preferences.d/holdfast-trixie <<PIN
Package: *
Pin: release n=trixie
Pin-Priority: 50
PIN

say "apt-get update (trixie added with pin priority 50: nothing else is upgraded)"
apt-get update -qq
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download -qq "docker-compose=$VERSION")
dpkg-deb -x "$work"/docker-compose_*.deb "$work/root"
install -d "$PLUGIN_DIR"
install -m 0755 "$work/root/usr/libexec/docker/cli-plugins/docker-compose" "$PLUGIN_DIR/docker-compose"
say "installed: $(docker compose version)"
