# The commands the README gives. CI (.ci/run) calls `make ci`.
GO ?= go
# govulncheck, pinned; its database (file:///path for an offline copy).
VULNCHECK ?= golang.org/x/vuln/cmd/govulncheck@v1.9.0
VULNDB    ?= https://vuln.go.dev

.PHONY: run test ci bench check fmt vet build deps services vulncheck

run:            ## the whole product on this machine: broker + demo IdP + local AWS
	$(GO) run ./cmd/broker dev

build:
	$(GO) build -o bin/broker ./cmd/broker

test: vet deps vulncheck  ## every test, with the race detector
	$(GO) test -race -count=1 ./...

# govulncheck ./... when its database answers within 5 s: a vulnerability
# in code the broker calls fails the build (exit 3); an unreachable database
# or a govulncheck that cannot be fetched is said, and skipped.
vulncheck:      ## known vulnerabilities in called code (govulncheck)
	@db="$(VULNDB)"; case "$$db" in \
	  file://*) test -r "$${db#file://}/index/db.json" || { echo "govulncheck: SKIPPED, no database at $(VULNDB)"; exit 0; } ;; \
	  *) if command -v curl >/dev/null; then probe="curl -fsS -o /dev/null --max-time 5"; \
	     elif command -v wget >/dev/null; then probe="wget -q -O /dev/null -T 5 -t 1"; \
	     else echo "govulncheck: SKIPPED, neither curl nor wget to reach $(VULNDB)"; exit 0; fi; \
	     $$probe "$(VULNDB)/index/db.json" 2>/dev/null || { echo "govulncheck: SKIPPED, its database $(VULNDB) is unreachable"; exit 0; } ;; \
	esac; \
	$(GO) run $(VULNCHECK) -version >/dev/null 2>&1 || { echo "govulncheck: SKIPPED, cannot fetch $(VULNCHECK)"; exit 0; }; \
	echo "govulncheck: $(VULNCHECK) against $(VULNDB)"; \
	$(GO) run $(VULNCHECK) -db "$(VULNDB)" ./...

deps:           ## node packages of the interop and browser tests, when npm is there
	@for d in interop/oidc-provider interop/openid-client e2e/browser; do \
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
