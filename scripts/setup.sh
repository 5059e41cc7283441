#!/usr/bin/env bash
# One-time (idempotent) machine set-up for CoralFunctions.
# Installs only what is missing and stays quiet when everything is already there:
#   - libstdc++ with GLIBCXX_3.4.32 (libtorch needs it; Debian 12 lacks it)
#   - Debian packages: Fashion-MNIST, Chromium (review-page tests)
#   - Azurite (pinned) into tools/node_modules
#   - the Bicep CLI comes from NuGet via the infra test project, restored below
#   - dotnet restore
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
AZURITE_VERSION="3.37.0"
FASHION_MNIST_DIR="/usr/share/datasets/fashion-mnist"
QUIET="${CORAL_SETUP_QUIET:-1}"

say() { echo "[setup] $*" >&2; }
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

APT_UPDATED=0
apt_update_once() {
  if [ "$APT_UPDATED" -eq 0 ]; then
    say "apt-get update"
    $SUDO apt-get update -qq >/dev/null
    APT_UPDATED=1
  fi
}

# --- libstdc++ (GLIBCXX_3.4.32) -------------------------------------------------------------
has_glibcxx_3_4_32() {
  local lib
  for lib in /usr/lib/x86_64-linux-gnu/libstdc++.so.6 /usr/lib64/libstdc++.so.6 /lib/x86_64-linux-gnu/libstdc++.so.6; do
    if [ -e "$lib" ] && grep -aq "GLIBCXX_3.4.32" "$lib"; then return 0; fi
  done
  return 1
}

if ! has_glibcxx_3_4_32; then
  . /etc/os-release
  if [ "${ID:-}" = "debian" ] && [ "${VERSION_ID:-}" = "12" ]; then
    say "libstdc++ lacks GLIBCXX_3.4.32: installing libstdc++6 from Debian 13 (trixie), pinned low"
    # Reuse the mirror this machine already uses for bookworm, so no host is hard-coded here.
    MIRROR="$(grep -hoE '^URIs:[[:space:]]*[^[:space:]]+' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v security | head -n1 | awk '{print $2}')"
    if [ -z "$MIRROR" ]; then
      MIRROR="$(grep -hoE '^deb[[:space:]]+[^[:space:]]+' /etc/apt/sources.list 2>/dev/null | grep -v security | head -n1 | awk '{print $2}')"
    fi
    [ -n "$MIRROR" ] || { say "cannot find the Debian mirror in the apt sources"; exit 1; }
    printf 'Types: deb\nURIs: %s\nSuites: trixie\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$MIRROR" \
      | $SUDO tee /etc/apt/sources.list.d/coral-trixie.sources >/dev/null
    # Priority 100: nothing else is upgraded from trixie unless asked for by name.
    printf 'Package: *\nPin: release n=trixie\nPin-Priority: 100\n' | $SUDO tee /etc/apt/preferences.d/coral-trixie >/dev/null
    APT_UPDATED=0
    apt_update_once
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq -t trixie libstdc++6 >/dev/null
    has_glibcxx_3_4_32 || { say "libstdc++6 from trixie did not provide GLIBCXX_3.4.32"; exit 1; }
  else
    say "WARNING: libstdc++ lacks GLIBCXX_3.4.32 and this is not Debian 12 (${PRETTY_NAME:-unknown});"
    say "         install a GCC 13+ libstdc++ by hand; TorchSharp will not load without it."
  fi
fi

# --- Debian packages ------------------------------------------------------------------------
# Required: Fashion-MNIST (data for tests, demo, experiments) and Node.js (Azurite).
# Wanted:   Chromium for the review-page browser test; a failure to install it is reported, not fatal,
#           because some distributions (Ubuntu) ship it as a snap that cannot install in containers.
need_pkgs=()
[ -f "$FASHION_MNIST_DIR/train-images-idx3-ubyte.gz" ] || need_pkgs+=(dataset-fashion-mnist)
command -v node >/dev/null 2>&1 || need_pkgs+=(nodejs npm)
if [ "${#need_pkgs[@]}" -gt 0 ]; then
  apt_update_once
  say "apt-get install ${need_pkgs[*]}"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi
if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
  apt_update_once
  say "apt-get install chromium"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null \
    || say "WARNING: could not install chromium; the review-page browser test will fail until it is installed"
fi

# --- Azurite (project-local, pinned) --------------------------------------------------------
AZ_PKG="$ROOT/tools/node_modules/azurite/package.json"
if [ ! -f "$AZ_PKG" ] || ! grep -q "\"version\": \"$AZURITE_VERSION\"" "$AZ_PKG"; then
  say "npm install azurite@$AZURITE_VERSION into tools/"
  mkdir -p "$ROOT/tools"
  (cd "$ROOT/tools" && npm install --no-save --no-package-lock --no-audit --no-fund --loglevel=error "azurite@$AZURITE_VERSION" >/dev/null 2>&1) \
    || { say "npm install azurite failed"; exit 1; }
fi

# --- .NET restore ---------------------------------------------------------------------------
if [ "$QUIET" = "1" ]; then
  dotnet restore "$ROOT/CoralFunctions.sln" --verbosity quiet >/dev/null || dotnet restore "$ROOT/CoralFunctions.sln"
else
  dotnet restore "$ROOT/CoralFunctions.sln"
fi
