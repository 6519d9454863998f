#!/usr/bin/env bash
# Installs what Ferry's build and tests need on a fresh Debian 12 machine.
# Idempotent: packages already present are skipped, so a warm machine pays
# only for the dpkg query.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  clang clang-format clang-tidy libclang-rt-14-dev
  googletest libgtest-dev
  nlohmann-json3-dev rapidjson-dev
  libsqlite3-dev libcurl4-openssl-dev zlib1g-dev libssl-dev openssl
  postgresql-15 libpq-dev
  libboost-dev
  emscripten node-acorn nodejs
  chromium
  python3 python3-venv python3-pip python3-setuptools python3-wheel python3-pytest python3-pytest-timeout
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  sudo_cmd=()
  if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
