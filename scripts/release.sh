#!/usr/bin/env bash
# Cross-compiles static release binaries and packs each with the licence,
# the docs, the dashboard, the alert rules and their runbooks, then writes
# SHA-256 checksums. Run by `make release`; the Makefile passes LDFLAGS
# (version stamping), VERSION and GO.
#
# Output, under $OUT (default .release):
#   campaign_exporter-VERSION.OS-ARCH.tar.gz  (.zip for windows)
#   sha256sums.txt
#
# The archives are reproducible: file order, owners and times are fixed
# (times from SOURCE_DATE_EPOCH, else the last commit's date).
set -euo pipefail
cd "$(dirname "$0")/.."

GO=${GO:-go}
VERSION=${VERSION:?VERSION is required}
LDFLAGS=${LDFLAGS:?LDFLAGS is required}
OUT=${OUT:-.release}
PLATFORMS=${PLATFORMS:-linux/amd64 linux/arm64 darwin/arm64 windows/amd64}
NAME=campaign_exporter

# A release is what CHANGELOG.md describes.
if ! grep -Eq "^## \[${VERSION//./\\.}\]" CHANGELOG.md; then
  echo "release: CHANGELOG.md has no '## [$VERSION]' section for VERSION $VERSION" >&2
  exit 1
fi

SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
export SOURCE_DATE_EPOCH

# What every archive holds besides the binary: name in archive <- source.
extras=(
  "LICENSE:LICENSE"
  "README.md:README.md"
  "CHANGELOG.md:CHANGELOG.md"
  "dashboards/campaign-system.json:dashboards/campaign-system.json"
  "alerts/campaign-alerts.yml:alerts/campaign-alerts.yml"
  "alerts/runbooks.md:alerts/runbooks.md"
)

rm -rf "$OUT"
mkdir -p "$OUT/stage"
echo '*' >"$OUT/.gitignore" # build output, never committed

for platform in $PLATFORMS; do
  os=${platform%/*}
  arch=${platform#*/}
  dir="$NAME-$VERSION.$os-$arch"
  stage="$OUT/stage/$dir"
  mkdir -p "$stage"
  echo "release: building $os/$arch"
  GO=$GO LDFLAGS=$LDFLAGS scripts/build-static.sh "$os" "$arch" "$stage"
  for e in "${extras[@]}"; do
    mkdir -p "$stage/$(dirname "${e%%:*}")"
    cp "${e#*:}" "$stage/${e%%:*}"
  done
  find "$stage" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
  if [ "$os" = windows ]; then
    (cd "$OUT/stage" && find "$dir" -print | LC_ALL=C sort | TZ=UTC zip -q -X -D "../$dir.zip" -@)
  else
    tar -C "$OUT/stage" --sort=name --owner=0 --group=0 --numeric-owner \
      --mtime="@$SOURCE_DATE_EPOCH" -cf - "$dir" | gzip -n -9 >"$OUT/$dir.tar.gz"
  fi
done
rm -rf "$OUT/stage"

(cd "$OUT" && sha256sum -- *.tar.gz *.zip >sha256sums.txt)
echo "release: $OUT"
cat "$OUT/sha256sums.txt"
