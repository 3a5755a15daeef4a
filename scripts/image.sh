#!/usr/bin/env bash
# Builds the container image from Containerfile with buildah, without pulling
# anything: stages a static linux binary and the host's CA bundle in .build/,
# builds FROM scratch, then checks the image's config and content and, where
# a container can run here, runs it and scrapes it. Run by `make image`.
#
# Environment: VERSION, REVISION, LDFLAGS, GO (from the Makefile); IMAGE (name,
# tagged VERSION); IMAGE_STAGE_ONLY=yes (stage .build/ for another builder,
# build nothing); IMAGE_RUN=auto (run it if containers can run here), yes
# (must run), no (never); IMAGE_DSN, the database the running container is
# pointed at (default: the local test server).
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=${VERSION:?} REVISION=${REVISION:?} LDFLAGS=${LDFLAGS:?}
IMAGE=${IMAGE:-localhost/campaign-exporter}
IMAGE_RUN=${IMAGE_RUN:-auto}
IMAGE_DSN=${IMAGE_DSN:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
BUILDAH=${BUILDAH:-buildah}
ARCH=$(${GO:-go} env GOARCH)
REF="$IMAGE:$VERSION"
CA=/etc/ssl/certs/ca-certificates.crt

fail() { echo "image: FAIL: $*" >&2; exit 1; }
[ -s "$CA" ] || fail "$CA missing (Debian: apt-get install ca-certificates)"

# Stage the build context.
mkdir -p .build
echo '*' >.build/.gitignore # build output, never committed
GO=${GO:-go} LDFLAGS=$LDFLAGS scripts/build-static.sh linux "$ARCH" ".build/linux-$ARCH"
cp "$CA" .build/ca-certificates.crt
if [ "${IMAGE_STAGE_ONLY:-}" = yes ]; then
  echo "image: staged .build/ for: docker build -f Containerfile --build-arg TARGETARCH=$ARCH ."
  exit 0
fi
command -v "$BUILDAH" >/dev/null || fail "buildah not found (Debian: apt-get install buildah)"

# The image this tag named before, removed once replaced, so rebuilds do
# not pile up untagged images.
previous=$("$BUILDAH" images --quiet --no-trunc "$REF" 2>/dev/null || true)
created=$(date -u ${SOURCE_DATE_EPOCH:+-d "@$SOURCE_DATE_EPOCH"} +%Y-%m-%dT%H:%M:%SZ)
"$BUILDAH" build --quiet --pull=never -f Containerfile \
  --build-arg TARGETARCH="$ARCH" --build-arg VERSION="$VERSION" \
  --build-arg REVISION="$REVISION" --build-arg CREATED="$created" \
  -t "$REF" . >/dev/null
current=$("$BUILDAH" images --quiet --no-trunc "$REF")
if [ -n "$previous" ] && [ "$previous" != "$current" ]; then
  "$BUILDAH" rmi "$previous" >/dev/null 2>&1 || true
fi
echo "image: built $REF"

# The config a runtime will use.
inspect() { "$BUILDAH" inspect --type image --format "$1" "$REF"; }
expect() { # what, got, want
  [ "$2" = "$3" ] || fail "$1 is '$2', want '$3'"
  echo "image: ok: $1 = $2"
}
expect user "$(inspect '{{.OCIv1.Config.User}}')" "65534:65534"
expect entrypoint "$(inspect '{{range .OCIv1.Config.Entrypoint}}<{{.}}>{{end}}')" '</bin/campaign_exporter>'
expect cmd "$(inspect '{{range .OCIv1.Config.Cmd}}<{{.}}>{{end}}')" ''
expect "exposed ports" "$(inspect '{{range $p, $_ := .OCIv1.Config.ExposedPorts}}{{$p}} {{end}}')" "9817/tcp "
expect os/arch "$(inspect '{{.OCIv1.OS}}/{{.OCIv1.Architecture}}')" "linux/$ARCH"
for l in title description licenses source url documentation version revision created; do
  v=$(inspect "{{index .OCIv1.Config.Labels \"org.opencontainers.image.$l\"}}")
  [ -n "$v" ] && [ "$v" != unknown ] || fail "label org.opencontainers.image.$l is '$v'"
done
expect "label version" "$(inspect '{{index .OCIv1.Config.Labels "org.opencontainers.image.version"}}')" "$VERSION"
expect "label revision" "$(inspect '{{index .OCIv1.Config.Labels "org.opencontainers.image.revision"}}')" "$REVISION"
expect "label licenses" "$(inspect '{{index .OCIv1.Config.Labels "org.opencontainers.image.licenses"}}')" "Apache-2.0"

# The content: the binary and the CA bundle, no shell, nothing else.
ctr=$("$BUILDAH" from --pull=never --quiet "$REF")
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; fi
  "$BUILDAH" rm "$ctr" >/dev/null 2>&1 || true
  rm -rf "${tmp:-}"
}
trap cleanup EXIT
root=$("$BUILDAH" mount "$ctr")
files=$(cd "$root" && find . -type f -o -type l | LC_ALL=C sort | tr '\n' ' ')
"$BUILDAH" umount "$ctr" >/dev/null
expect files "$files" "./bin/campaign_exporter ./etc/ssl/certs/ca-certificates.crt "

[ "$IMAGE_RUN" = no ] && { echo "image: not run (IMAGE_RUN=no)"; exit 0; }

# Run it: first whether a container can run here at all, then the exporter
# as deployed (its entrypoint, its user, the DSN from a mounted file).
run=("$BUILDAH" run --isolation=chroot --network=host)
if ! out=$("${run[@]}" "$ctr" -- /bin/campaign_exporter --version 2>&1); then
  [ "$IMAGE_RUN" = yes ] && fail "cannot run a container: $out"
  echo "image: containers cannot run here, config checked only: $out"
  exit 0
fi
grep -q "version $VERSION" <<<"$out" || fail "--version in the container says: $out"
echo "image: ok: ran --version: $(head -n 1 <<<"$out")"

tmp=$(mktemp -d)
chmod 0755 "$tmp"
printf '%s\n' "$IMAGE_DSN" >"$tmp/dsn"
chmod 0644 "$tmp/dsn"
port=""
for p in $(seq 19817 19917); do
  if [ -z "$(ss -Hltn "sport = :$p")" ]; then port=$p; break; fi
done
[ -n "$port" ] || fail "no free port"
"${run[@]}" -v "$tmp/dsn:/run/secrets/dsn:ro" "$ctr" -- /bin/campaign_exporter \
  --web.listen-address="127.0.0.1:$port" --db.dsn-file=/run/secrets/dsn >"$tmp/log" 2>&1 &
pid=$!
up=""
for _ in $(seq 1 50); do
  if curl -fsS "http://127.0.0.1:$port/-/healthy" >/dev/null 2>&1; then up=1; break; fi
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.2
done
[ -n "$up" ] || { cat "$tmp/log" >&2; fail "the container did not serve /-/healthy"; }
# The exporter's user: the process listening on the port.
epid=$(ss -Hltnp "sport = :$port" | sed -n 's/.*pid=\([0-9]*\).*/\1/p')
epid=${epid%%$'\n'*}
uid=$(awk '/^Uid:/ {print $2}' "/proc/$epid/status")
expect "running uid" "$uid" 65534
curl -fsS "http://127.0.0.1:$port/metrics" >"$tmp/metrics" || fail "scrape of /metrics failed"
grep -q "^campaign_exporter_build_info{.*version=\"$VERSION\"" "$tmp/metrics" || fail "no build_info with version $VERSION in the scrape"
grep -Eq '^campaign_up [01]$' "$tmp/metrics" || fail "no campaign_up in the scrape"
echo "image: ok: scraped the container: $(grep -c -v '^#' "$tmp/metrics") series, $(grep '^campaign_up ' "$tmp/metrics")"
kill "$epid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
pid=""
