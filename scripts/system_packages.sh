#!/usr/bin/env bash
# The Debian packages the service needs beyond Python: the Noto fonts the PDF export draws
# every script with (src/server/export/fonts.toml). Installs only what is missing, so a
# second run does nothing; without apt-get it says what to install and leaves it there
# (PDF export then answers 503 naming the package, PPTX export still works).
#
#   scripts/system_packages.sh        (make setup and CI run it)
set -euo pipefail

# fonts-noto-core: Noto Sans (Latin, Greek, Cyrillic), Arabic, Hebrew, Devanagari, Bengali and
#   the other scripts' fallbacks, 42 MB installed;
# fonts-noto-cjk: Noto Sans CJK (Chinese, Japanese, Korean), 91 MB installed.
PACKAGES=(fonts-noto-core fonts-noto-cjk)

installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

missing=()
for package in "${PACKAGES[@]}"; do
  installed "$package" || missing+=("$package")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "system packages: ${PACKAGES[*]} already installed"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "system packages: missing ${missing[*]} and no apt-get here; install them (or the" \
    "same Noto fonts) by hand for PDF export" >&2
  exit 0
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  sudo=(sudo)
fi

echo "system packages: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "system packages: installed ${missing[*]}"
