#!/usr/bin/env bash
# Checks (and, as root with --install, installs) the Debian packages that Tollgate's lab and
# its root-only test tiers need. Without root it only reports what is missing: the tests that
# need those tools then skip with a message that names the missing piece.
#
#   scripts/system-deps.sh            report missing packages (exit 0)
#   scripts/system-deps.sh --install  apt-get install -y the missing ones (root only)
#   scripts/system-deps.sh --require  exit 1 when anything is missing (for the lab)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
mode="${1:-report}"

# One line per package: "<debian package> <command it provides>".
mapfile -t wanted < <(grep -vE '^\s*(#|$)' "$here/debian-packages.txt")

missing=()
for line in "${wanted[@]}"; do
  pkg="${line%% *}"
  cmd="${line##* }"
  if ! command -v "$cmd" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$cmd" ] && [ ! -x "/sbin/$cmd" ]; then
    missing+=("$pkg")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

case "$mode" in
  --install)
    if [ "$(id -u)" != 0 ]; then
      echo "system-deps: missing Debian packages: ${missing[*]} (run as root to install them, or: sudo apt-get install -y ${missing[*]})" >&2
      exit 0
    fi
    echo "system-deps: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null || apt-get update
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    ;;
  --require)
    echo "system-deps: missing Debian packages: ${missing[*]}" >&2
    echo "  install them with: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
    ;;
  *)
    echo "system-deps: missing Debian packages: ${missing[*]} (root-only test tiers that need them will skip)" >&2
    ;;
esac
