# campaign_exporter: build, test and demo.
#
#   make demo   local campaign_demo database with the reference schema, demo
#               data and a few injected faults, and the exporter serving it
#   make test   everything CI runs: vet, Go tests on a real PostgreSQL, rules
#
# Both use the server named by PGADMIN (demo) or CAMPAIGN_TEST_DSN (tests),
# else the local one at 127.0.0.1:5432 when user postgres gets in without a
# password, else a throwaway cluster that lives as long as the command
# (scripts/pg-throwaway.sh).
#
# Tools the tests need are built from the Go module proxy at pinned versions
# into .tools/bin, once.

GO              ?= go
TOOLS           := $(CURDIR)/.tools/bin
PROMETHEUS_VERSION   := v0.316.0
ALERTMANAGER_VERSION := v0.28.1
GOLANGCI_LINT_VERSION := v2.15.0
GOLANGCI_LINT   := $(TOOLS)/golangci-lint
PROMTOOL        := $(TOOLS)/promtool
PROMETHEUS      := $(TOOLS)/prometheus
ALERTMANAGER    := $(TOOLS)/alertmanager
AMTOOL          := $(TOOLS)/amtool
BINARY          := campaign_exporter

# Version stamping: the version is the VERSION file's (kept beside
# CHANGELOG.md), the revision and branch git's, the build date now in UTC,
# or SOURCE_DATE_EPOCH's for a reproducible build.
VERSION  ?= $(shell cat VERSION 2>/dev/null || echo dev)
REVISION ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
BRANCH   ?= $(shell git rev-parse --abbrev-ref HEAD 2>/dev/null || echo unknown)
BUILD_DATE ?= $(shell date -u $${SOURCE_DATE_EPOCH:+-d @$$SOURCE_DATE_EPOCH} +%Y%m%d-%H:%M:%S)
VPKG     := github.com/prometheus/common/version
LDFLAGS  := -X $(VPKG).Version=$(VERSION) -X $(VPKG).Revision=$(REVISION) -X $(VPKG).Branch=$(BRANCH) -X $(VPKG).BuildUser=campaign_exporter -X $(VPKG).BuildDate=$(BUILD_DATE)

# The demo database and the server it is created on (empty: see above).
PGADMIN  ?=
DEMO_DB  ?= campaign_demo
DEMO_SCALE ?= 1
DEMO_LISTEN ?= :9817

.PHONY: all build test lint vet gotest race rules demo demo-db e2e bench bench-schema load clean tools pgcheck pgcheck-demo

all: build

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BINARY) .

test: pgcheck vet rules race gotest

# Stops at once, before the build, when no PostgreSQL can be had (saying how
# to install it); gotest, e2e and demo then use or start one.
pgcheck:
	@scripts/pg-throwaway.sh --check CAMPAIGN_TEST_DSN
pgcheck-demo:
	@PGADMIN='$(PGADMIN)' scripts/pg-throwaway.sh --check PGADMIN

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(GO) vet ./...
	$(GO) vet -tags e2e ./e2e/

gotest:
	scripts/pg-throwaway.sh CAMPAIGN_TEST_DSN $(GO) test -count=1 ./...

# The race detector over the tests that need no database: the packages
# without any, and the collector engine's unit tests and fuzz seeds.
RACE_PACKAGES := ./alerts/ ./dashboards/ ./internal/check/ ./internal/config/
race:
	$(GO) test -race -count=1 $(RACE_PACKAGES)
	$(GO) test -race -count=1 -run '^(TestFlight|TestEngine|Fuzz)' ./collector/

rules: $(PROMTOOL)
	$(PROMTOOL) check rules alerts/campaign-alerts.yml
	$(PROMTOOL) test rules alerts/tests/*.yml

lint: $(GOLANGCI_LINT)
	$(GOLANGCI_LINT) run ./...
	$(GOLANGCI_LINT) run --build-tags e2e ./e2e/

$(GOLANGCI_LINT):
	GOBIN=$(TOOLS) $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)

$(PROMTOOL):
	GOBIN=$(TOOLS) $(GO) install github.com/prometheus/prometheus/cmd/promtool@$(PROMETHEUS_VERSION)

$(PROMETHEUS):
	GOBIN=$(TOOLS) $(GO) install github.com/prometheus/prometheus/cmd/prometheus@$(PROMETHEUS_VERSION)

$(ALERTMANAGER):
	GOBIN=$(TOOLS) $(GO) install github.com/prometheus/alertmanager/cmd/alertmanager@$(ALERTMANAGER_VERSION)

$(AMTOOL):
	GOBIN=$(TOOLS) $(GO) install github.com/prometheus/alertmanager/cmd/amtool@$(ALERTMANAGER_VERSION)

tools: $(PROMTOOL) $(PROMETHEUS) $(ALERTMANAGER) $(AMTOOL)

demo-db:
	PGADMIN='$(PGADMIN)' DEMO_DB='$(DEMO_DB)' DEMO_SCALE='$(DEMO_SCALE)' scripts/demo-db.sh

demo: pgcheck-demo build
	PGADMIN='$(PGADMIN)' DEMO_DB='$(DEMO_DB)' DEMO_SCALE='$(DEMO_SCALE)' DEMO_LISTEN='$(DEMO_LISTEN)' \
		scripts/pg-throwaway.sh PGADMIN sh -c 'scripts/demo-db.sh && exec scripts/demo.sh'

e2e: pgcheck build $(PROMETHEUS) $(ALERTMANAGER) $(AMTOOL)
	PROMETHEUS_BIN=$(PROMETHEUS) ALERTMANAGER_BIN=$(ALERTMANAGER) AMTOOL_BIN=$(AMTOOL) EXPORTER_BIN=$(CURDIR)/$(BINARY) \
		scripts/pg-throwaway.sh CAMPAIGN_TEST_DSN $(GO) test -tags e2e -count=1 -v ./e2e/

bench-schema:
	scripts/bench-schema.sh

# The issue's goals on demo data (BENCH_FLAGS=-scale=1 for 100k orders):
# a fully cached scrape against the floor (its own bytes from a static Go
# handler), memory, an uncached scrape against its queries alone, and the
# attribution check against one aggregate. Fails when a goal is missed.
BENCH_FLAGS ?=
bench:
	scripts/pg-throwaway.sh CAMPAIGN_TEST_DSN $(GO) test -run '^$$' -bench '^BenchmarkExporter$$' -benchtime 1x -v -timeout 2h ./internal/bench $(BENCH_FLAGS)

LOAD_DURATION ?= 60s
LOAD_SCRAPERS ?= 200
load:
	scripts/pg-throwaway.sh CAMPAIGN_TEST_DSN $(GO) test -run '^$$' -bench '^BenchmarkLoad$$' -benchtime 1x -v -timeout 2h ./internal/bench \
		-load.duration=$(LOAD_DURATION) -load.scrapers=$(LOAD_SCRAPERS) $(BENCH_FLAGS)

# The scale run, in neither test nor e2e: one exporter over SCALE_TARGETS
# databases on one server (copies of a template with the reference schema
# and a little demo data), probed through /sd and /probe by Prometheus
# every SCALE_INTERVAL for SCALE_DURATION; prints a markdown table and fails
# if the exporter ever holds more connections than its bounds or a scrape
# fails. The databases are dropped at the end, also on failure or
# interrupt. The
# exporter's connection bounds are its defaults unless SCALE_MAX_CONNECTIONS
# (per target), SCALE_MAX_PER_HOST or SCALE_MAX_TOTAL say otherwise.
SCALE_TARGETS  ?= 200
SCALE_DURATION ?= 90s
SCALE_INTERVAL ?= 15s
SCALE_MAX_CONNECTIONS ?= 2
SCALE_MAX_PER_HOST    ?= 10
SCALE_MAX_TOTAL       ?= 20
.PHONY: scale
scale: pgcheck build $(PROMETHEUS)
	CAMPAIGN_SCALE_TARGETS=$(SCALE_TARGETS) CAMPAIGN_SCALE_DURATION=$(SCALE_DURATION) CAMPAIGN_SCALE_INTERVAL=$(SCALE_INTERVAL) \
		CAMPAIGN_SCALE_MAX_CONNECTIONS=$(SCALE_MAX_CONNECTIONS) CAMPAIGN_SCALE_MAX_CONNECTIONS_PER_HOST=$(SCALE_MAX_PER_HOST) \
		CAMPAIGN_SCALE_MAX_CONNECTIONS_TOTAL=$(SCALE_MAX_TOTAL) \
		PROMETHEUS_BIN=$(PROMETHEUS) EXPORTER_BIN=$(CURDIR)/$(BINARY) \
		scripts/pg-throwaway.sh CAMPAIGN_TEST_DSN $(GO) test -tags e2e -count=1 -v -timeout 60m -run '^TestScale$$' ./e2e/

clean:
	rm -rf $(BINARY) .tools .demo .pg .release .build

# Releases, the container image, the Helm chart and the systemd unit.
#
#   make release         static binaries for $(RELEASE_PLATFORMS), packed, with
#                        SHA-256 checksums, in .release/
#   make image           the container image $(IMAGE):$(VERSION), built with
#                        buildah from scratch, its config checked, and run and
#                        scraped where containers can run (IMAGE_RUN=no: never)
#   make chart-test      helm lint and helm template of the chart with each
#                        values file in charts/campaign-exporter/ci, every object
#                        decoded strictly into the Kubernetes and
#                        prometheus-operator Go types (module charts/test)
#   make chart-files     copy the alert rules and the dashboard into the chart
#                        (chart-test fails until the copies equal the sources)
#   make systemd-verify  systemd-analyze verify of packaging/systemd

HELM_VERSION      := v3.22.0
HELM              := $(TOOLS)/helm
CHART             := charts/campaign-exporter
RELEASE_PLATFORMS ?= linux/amd64 linux/arm64 darwin/arm64 windows/amd64
IMAGE             ?= localhost/campaign-exporter
IMAGE_RUN         ?= auto

.PHONY: release release-archives image chart-test chart-files systemd-verify

# The build date of a release is its commit's (or SOURCE_DATE_EPOCH's), so a
# commit's archives can be rebuilt bit for bit.
release:
	SOURCE_DATE_EPOCH=$${SOURCE_DATE_EPOCH:-$$(git log -1 --format=%ct)} $(MAKE) --no-print-directory release-archives

release-archives:
	GO='$(GO)' VERSION='$(VERSION)' LDFLAGS='$(LDFLAGS)' PLATFORMS='$(RELEASE_PLATFORMS)' scripts/release.sh

image:
	GO='$(GO)' VERSION='$(VERSION)' REVISION='$(REVISION)' LDFLAGS='$(LDFLAGS)' IMAGE='$(IMAGE)' IMAGE_RUN='$(IMAGE_RUN)' scripts/image.sh

chart-test: $(HELM)
	cd charts/test && HELM='$(HELM)' $(GO) test -count=1 ./...

chart-files:
	cp alerts/campaign-alerts.yml $(CHART)/files/campaign-alerts.yml
	cp dashboards/campaign-system.json $(CHART)/files/campaign-system.json

$(HELM):
	GOBIN=$(TOOLS) $(GO) install helm.sh/helm/v3/cmd/helm@$(HELM_VERSION)

systemd-verify: build
	BINARY='$(CURDIR)/$(BINARY)' scripts/systemd-verify.sh
