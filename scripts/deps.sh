#!/usr/bin/env bash
# Installs the Debian packages brokerd builds and tests with (README "Dependencies").
# apt-get runs only when one is missing, so a second run costs nothing.
set -euo pipefail
packages=(gcc make cmake pkg-config libnng-dev nng-utils libevent-dev libssl-dev openssl libjansson-dev check clang-format clang libclang-rt-dev python3 python3-pytest libsystemd-dev scdoc man-db bsdextrautils systemd strace procps)
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	echo "installing: ${missing[*]}"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
