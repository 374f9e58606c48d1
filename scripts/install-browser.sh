#!/usr/bin/env bash
# Installs what the browser tests need, from Debian's packages: chromium (driven by Playwright
# through /usr/bin/chromium, since `playwright install` cannot download browsers here) and
# fonts-noto-cjk (without it Chinese and Japanese render as empty boxes) and fonts-lklug-sinhala
# (Sinhala; 320 KB, where fonts-noto-core's Noto Sans Sinhala comes with 42 MB of other scripts).
set -euo pipefail
# GNU gettext too: the PO tests run msgfmt -c on every exported file
bash "$(dirname "$0")/install-gettext.sh"
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
dpkg -s fonts-noto-cjk >/dev/null 2>&1 || missing+=(fonts-noto-cjk)
dpkg -s fonts-lklug-sinhala >/dev/null 2>&1 || missing+=(fonts-lklug-sinhala)
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "Installing ${missing[*]} (Debian packages) for the browser tests"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
