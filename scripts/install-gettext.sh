#!/usr/bin/env bash
# Installs GNU gettext (Debian's `gettext`), whose `msgfmt -c` the tests run on every exported
# PO file. `make test` runs it (through install-browser.sh); the tests call it when msgfmt is missing.
set -euo pipefail
command -v msgfmt >/dev/null 2>&1 && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "Installing gettext (Debian package) for the PO tests"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends gettext >/dev/null
