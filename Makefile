# releasegate — the two commands that matter: `make demo` and `make test`.
SHELL := /bin/bash
GO    ?= go
BIN   := bin/releasegate
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/maestro-conductor/releasegate/internal/cli.Version=$(VERSION)
# Where `make test` keeps the env of the services it started.
SERVICES_ENV := $(or $(TMPDIR),/tmp)/releasegate-services.env

.PHONY: screenshots release-snapshot all build demo test test-scale test-go services oracles lint tidy docs fuzz bench clean dogfood dogfood-reports

all: build

build: ## build bin/releasegate
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/releasegate

demo: build ## run the whole release gate on embedded defaults against the built-in demo service
	$(BIN) demo

# releasegate's own release evidence (issue 22): its SBOM, its go test -json
# report and a govulncheck report against the vulnerability database
# snapshot in testdata/vulndb (offline), judged by the release policy's
# tests, sbom and vulnerabilities gates. Too slow for `make test` (the SBOM
# tool and the source scan take minutes); the e2e test TestDogfoodPieces
# runs each piece on a small package.
DOGFOOD := dogfood
dogfood-reports: build ## write releasegate's SBOM, go test -json and offline govulncheck report into dogfood/
	@mkdir -p $(DOGFOOD)
	@# the SBOM names the binary by its digest (its main component's version and purl), which the sbom gate binds it by
	$(GO) tool -modfile=tools/go.mod cyclonedx-gomod bin -json -noserial -version sha256:$$(sha256sum $(BIN) | cut -d' ' -f1) -output $(DOGFOOD)/releasegate.cdx.json $(BIN)
	@# go test's exit status is not the verdict: the tests gate judges the report, which records failures
	$(GO) test -short -json ./... > $(DOGFOOD)/go-test.json || test -s $(DOGFOOD)/go-test.json
	$(GO) tool -modfile=tools/go.mod govulncheck -db file://$(CURDIR)/testdata/vulndb -format json ./cmd/releasegate > $(DOGFOOD)/govulncheck.json

dogfood: build ## gate releasegate on its own reports: the release policy's jobs group (vet, actionlint, the reports, tests, sbom, vulnerabilities)
	RELEASE_VERSION=$(VERSION) $(BIN) run --policy .github/release-policy.yml --only jobs --out $(DOGFOOD)/results

services: ## install and start what the tests need (PostgreSQL, Prometheus, Chromium, ...)
	@: > $(SERVICES_ENV)
	@for s in scripts/services/*.sh; do \
	  [ -e "$$s" ] || continue; \
	  echo "== $$s" >&2; \
	  bash "$$s" >> $(SERVICES_ENV) || { echo "service script $$s failed" >&2; exit 1; }; \
	done
	@echo "services env written to $(SERVICES_ENV):" >&2; sed 's/=.*/=…/' $(SERVICES_ENV) >&2

# The outside verifiers the tests hold releasegate's signed outputs to
# (cosign, slsa-verifier), pinned in their own module: tools/oracles/go.mod.
ORACLES := bin/oracles

oracles: ## build the outside verifiers (cosign, slsa-verifier) the tests check signed evidence with
	cd tools/oracles && $(GO) build -trimpath -o $(CURDIR)/$(ORACLES)/ \
	  github.com/sigstore/cosign/v2/cmd/cosign github.com/slsa-framework/slsa-verifier/v2/cli/slsa-verifier

test: services build oracles ## install what is needed, start services, run every test
	set -a; source $(SERVICES_ENV); set +a; \
	RELEASEGATE_BIN=$(CURDIR)/$(BIN) RELEASEGATE_E2E=1 RELEASEGATE_ORACLES=$(CURDIR)/$(ORACLES) $(GO) test -timeout 30m ./...

# The runs at scale, too long for `make test` on a 2-core machine (about
# 14 minutes): 1,000 tenants × 5 synthetic scenarios over 8 shards, once
# through release.yml under act and once as 8 shard processes at once,
# each merged verdict held check by check to a single-process run.
test-scale: build ## 1,000 tenants × 5 scenarios × 8 shards under act and as 8 processes, merged verdicts equal to one process
	RELEASEGATE_BIN=$(CURDIR)/$(BIN) RELEASEGATE_E2E=1 RELEASEGATE_SCALE=1 $(GO) test -timeout 40m -count=1 -v -run 'AtScale' ./internal/e2e

test-go: ## go test without starting services (service tests skip locally)
	$(GO) test ./...

lint: tidy ## go.mod tidy, go vet, staticcheck and actionlint (the tools are pinned in tools/go.mod)
	$(GO) vet ./...
	$(GO) tool -modfile=tools/go.mod staticcheck ./...
	$(GO) tool -modfile=tools/go.mod actionlint

tidy: ## fail when go.mod/go.sum (or tools/go.mod/go.sum) are not what `go mod tidy` makes them
	$(GO) mod tidy -diff
	cd tools && $(GO) mod tidy -diff
	cd tools/oracles && $(GO) mod tidy -diff

docs: ## regenerate docs/policy.md and docs/policy.schema.json from the code
	$(GO) test ./internal/gates/all -run TestGeneratedDocs -update

FUZZTIME ?= 10s
fuzz: ## run every fuzz test for FUZZTIME each (default 10s); the corpus in testdata/fuzz is replayed by `make test`
	@set -e; for f in $$(grep -rl '^func Fuzz' --include='*_test.go' internal); do \
	  dir=$$(dirname $$f); \
	  for name in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$f); do \
	    echo "== $$dir $$name" >&2; \
	    $(GO) test ./$$dir -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 5s; \
	  done; \
	done

clean:
	rm -rf bin out

release-snapshot: ## build the release archives twice with GoReleaser (tools/release) from two clones of HEAD and fail unless the checksums match (not in `make test`: GoReleaser's first build takes minutes)
	scripts/release-snapshot.sh

screenshots: ## report.html of the demo's pass and fail runs at 375, 768 and 1400 px, as PNGs in screenshots/ (not committed)
	RELEASEGATE_TEST_CHROMIUM=$${RELEASEGATE_TEST_CHROMIUM:-/usr/bin/chromium} RELEASEGATE_SCREENSHOTS=$(CURDIR)/screenshots \
		go test ./internal/evidence -run TestDemoHTMLInChromium -count=1
	@ls screenshots/*.png
