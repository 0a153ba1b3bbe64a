#!/usr/bin/env bash
# Installs the open HDL tools the kit drives (iverilog, yosys, OpenSTA) when they are missing.
# apt-get is used only when running as root and NO_APT is unset; otherwise a
# one-line message says what to install.
set -euo pipefail
need=()
command -v iverilog >/dev/null 2>&1 || need+=(iverilog)
command -v yosys >/dev/null 2>&1 || need+=(yosys)
command -v sta >/dev/null 2>&1 || need+=(opensta)     # Debian's package; its command is `sta`
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = "0" ] && [ -z "${NO_APT:-}" ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing ${need[*]} with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq "${need[@]}" >/dev/null
    for t in "${need[@]}"; do
        [ "$t" = opensta ] && t=sta
        command -v "$t" >/dev/null 2>&1 || { echo "setup: apt-get did not provide $t; install it by hand" >&2; exit 1; }
    done
else
    echo "setup: missing ${need[*]}; install them (Debian/Ubuntu: sudo apt-get install ${need[*]}) and run make again" >&2
    exit 1
fi
