#!/usr/bin/env bash
# Builds one static campaign_exporter (cgo off, build paths trimmed) for
# GOOS/GOARCH into DIR/campaign_exporter[.exe]. Shared by release.sh and
# image.sh so both ship the same binary.
#
#   scripts/build-static.sh OS ARCH DIR     (GO and LDFLAGS from the environment)
set -euo pipefail
cd "$(dirname "$0")/.."
os=${1:?OS} arch=${2:?ARCH} dir=${3:?DIR}
exe=campaign_exporter
[ "$os" = windows ] && exe=campaign_exporter.exe
mkdir -p "$dir"
CGO_ENABLED=0 GOOS=$os GOARCH=$arch "${GO:-go}" build -trimpath -ldflags "${LDFLAGS:?LDFLAGS is required}" -o "$dir/$exe" .
