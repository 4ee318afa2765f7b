#!/bin/sh
# Make sure the system packages the project needs are there.
#   tools/system-deps.sh          PostgreSQL + PostGIS, python3-venv (for `make run`)
#   tools/system-deps.sh --test   ... and Debian's chromium (for `make test`)
# As root it installs what is missing with apt-get; otherwise it names the packages and stops.
set -eu
need=""
if ! ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1 \
   || ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  need="postgis"
fi
python3 -c 'import venv, ensurepip' 2>/dev/null || need="$need python3-venv"
if [ "${1:-}" = "--test" ] && [ ! -x /usr/bin/chromium ]; then need="$need chromium"; fi
[ -z "$need" ] && exit 0

if [ "$(id -u)" != 0 ]; then
  echo "Missing system packages. Please install them (Debian/Ubuntu):" >&2
  echo "  sudo apt-get install -y postgresql postgresql-<major>-postgis-3 python3-venv chromium" >&2
  echo "  (needed here:$need; or set DATABASE_URL to an existing PostGIS database)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
echo "Installing system packages:$need"
apt-get update -qq
pkgs=""
for n in $need; do
  case "$n" in
    postgis)
      major=$(apt-cache depends postgresql 2>/dev/null | sed -n 's/.*Depends: postgresql-\([0-9][0-9]*\)$/\1/p' | head -1)
      pkgs="$pkgs postgresql postgresql-${major:-15}-postgis-3" ;;
    *) pkgs="$pkgs $n" ;;
  esac
done
# shellcheck disable=SC2086
apt-get install -y -qq $pkgs >/dev/null
echo "Installed:$pkgs"
