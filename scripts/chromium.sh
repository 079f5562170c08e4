#!/usr/bin/env bash
# Installs Debian's headless-capable Chromium when it is missing and prints its path.
#
# Used by the HTML report's real-browser test (crates/report/tests/browser.rs), which reads the
# path from EXPLAINER_CHROMIUM or falls back to /usr/bin/chromium:
#
#     EXPLAINER_CHROMIUM="$(scripts/chromium.sh)" cargo test -p explainer-report
#
# Stdout carries only the binary's path; every message goes to stderr. Needs root (or sudo)
# for apt-get the first time; later runs only print the path.
set -euo pipefail

log() { printf 'chromium.sh: %s\n' "$*" >&2; }

if [[ -n "${EXPLAINER_CHROMIUM:-}" && -x "${EXPLAINER_CHROMIUM}" ]]; then
    printf '%s\n' "${EXPLAINER_CHROMIUM}"
    exit 0
fi

bin=/usr/bin/chromium
if [[ ! -x "$bin" ]]; then
    if ! command -v apt-get >/dev/null 2>&1; then
        log "no $bin and no apt-get: install Chromium yourself and set EXPLAINER_CHROMIUM to its path"
        exit 1
    fi
    sudo=()
    if [[ "$(id -u)" -ne 0 ]]; then
        if command -v sudo >/dev/null 2>&1; then
            sudo=(sudo)
        else
            log "installing chromium needs root (or sudo)"
            exit 1
        fi
    fi
    export DEBIAN_FRONTEND=noninteractive
    log "installing Debian's chromium package (apt-get) ..."
    # Try from the cached package lists first; refresh them when the package is unknown or
    # the cached versions are gone from the mirror.
    if ! "${sudo[@]}" apt-get install -y --no-install-recommends chromium >&2; then
        log "refreshing the package lists (apt-get update) ..."
        "${sudo[@]}" apt-get update >&2
        "${sudo[@]}" apt-get install -y --no-install-recommends chromium >&2
    fi
    if [[ ! -x "$bin" ]]; then
        log "apt-get finished but $bin is missing"
        exit 1
    fi
    log "installed: $("$bin" --version 2>/dev/null || echo "$bin")"
fi
printf '%s\n' "$bin"
