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

BACKPORTS_SUITE=bookworm-backports
BACKPORTS_SOURCE=/etc/apt/sources.list.d/tollgate-bookworm-backports.sources

# Adds Debian's bookworm-backports suite (signed by the Debian archive key) unless present.
add_backports() {
  if grep -rqs "$BACKPORTS_SUITE" /etc/apt/sources.list /etc/apt/sources.list.d/; then return; fi
  if ! grep -qs '^VERSION_CODENAME=bookworm' /etc/os-release; then
    echo "system-deps: not Debian 12 (bookworm): install Suricata 6 or 7 yourself" >&2
    return
  fi
  cat >"$BACKPORTS_SOURCE" <<EOF
# Added by Tollgate's scripts/system-deps.sh: Suricata 7 for the IDS/IPS test tiers and the lab.
Types: deb
URIs: http://deb.debian.org/debian
Suites: $BACKPORTS_SUITE
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
}

missing=()
for line in "${wanted[@]}"; do
  pkg="${line%% *}"
  cmd="${line##* }"
  if [ "${cmd#/}" != "$cmd" ]; then
    [ -e "$cmd" ] || missing+=("$pkg")
  elif ! command -v "$cmd" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$cmd" ] && [ ! -x "/sbin/$cmd" ]; then
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
    # Suricata 7 comes from Debian's bookworm-backports suite (bookworm itself carries 6.0.10):
    # add that suite as a package source (nothing else) and take only suricata from it.
    backports=()
    plain=()
    for pkg in "${missing[@]}"; do
      if [ "$pkg" = suricata ]; then backports+=("$pkg"); else plain+=("$pkg"); fi
    done
    if [ ${#backports[@]} -gt 0 ]; then add_backports; fi
    apt-get update -qq >/dev/null || apt-get update
    if [ ${#plain[@]} -gt 0 ]; then
      apt-get install -y -qq --no-install-recommends "${plain[@]}" >/dev/null
    fi
    if [ ${#backports[@]} -gt 0 ]; then
      apt-get install -y -qq --no-install-recommends -t "$BACKPORTS_SUITE" "${backports[@]}" >/dev/null
    fi
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
