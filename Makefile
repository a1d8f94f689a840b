# The commands the README gives. CI (.ci/run) calls `make ci`.
GO ?= go

.PHONY: run test ci bench check fmt vet build deps services

run:            ## the whole product on this machine: broker + demo IdP + local AWS
	$(GO) run ./cmd/broker dev

build:
	$(GO) build -o bin/broker ./cmd/broker

test: vet deps  ## every test, with the race detector
	$(GO) test -race -count=1 ./...

deps:           ## node packages of the interop and browser tests, when npm is there
	@for d in interop/oidc-provider e2e/browser; do \
	  if [ ! -d $$d/node_modules ] && command -v npm >/dev/null; then \
	    npm ci --prefix $$d --no-audit --no-fund; fi; done

services:       ## chromium + PostgreSQL from Debian, PostgreSQL started on loopback (root/sudo); prints the DSN
	@.ci/system

vet:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "not gofmt'ed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

bench:          ## benchmarks (numbers, not pass/fail)
	$(GO) test -run '^$$' -bench . -benchmem ./...

ci: test
