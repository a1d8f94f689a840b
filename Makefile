# The commands the README gives. CI (.ci/run) calls `make ci`.
GO ?= go

.PHONY: run test ci bench check fmt vet build

run:            ## the whole product on this machine: broker + demo IdP + local AWS
	$(GO) run ./cmd/broker dev

build:
	$(GO) build -o bin/broker ./cmd/broker

test: vet       ## every test, with the race detector
	$(GO) test -race -count=1 ./...

vet:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "not gofmt'ed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

bench:          ## benchmarks (numbers, not pass/fail)
	$(GO) test -run '^$$' -bench . -benchmem ./...

ci: test
