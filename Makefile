# gohub: `make run` installs what is missing, builds and starts the hub; `make test` installs what
# the tests need and runs them all. See README.md.

GO ?= go
BIN := bin/gohub

# make run: where the hub listens and how people log in. One variable picks the authenticator;
# scripts/run.sh prints the matching login instructions. The simple spawner runs every user's
# server as the hub's own user (the dummy authenticator's names need no system accounts); set
# RUN_SPAWNER=localprocess to run each as the system user of the same name.
RUN_AUTHENTICATOR ?= dummy
RUN_SPAWNER ?= simple
RUN_URL ?= http://127.0.0.1:8000
RUN_DIR ?= bin/run

# make test: the per-step timeout and the packages run under the race detector (a regular
# expression over import paths).
TEST_TIMEOUT ?= 12m
RACE_PKGS ?= ^gohub/internal/

# make fuzz: how long each fuzzer runs (go test -fuzztime); make test runs each for TEST_FUZZTIME.
FUZZTIME ?= 3m
TEST_FUZZTIME ?= 10s

# make bench-api: flags for go run ./bench/api (see bench/README.md).
BENCH_ARGS ?=

# make screenshots: where the PNGs of every page go (a laptop and a phone picture each).
SCREENSHOTS_DIR ?= docs/screenshots

.PHONY: all build run test fuzz bench-api screenshots clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/gohub

run:
	scripts/install-deps.sh run
	$(MAKE) --no-print-directory build
	scripts/run.sh $(BIN) $(RUN_DIR) $(RUN_URL) $(RUN_AUTHENTICATOR) $(RUN_SPAWNER)

test:
	scripts/install-deps.sh test
	TEST_TIMEOUT=$(TEST_TIMEOUT) RACE_PKGS='$(RACE_PKGS)' TEST_FUZZTIME=$(TEST_FUZZTIME) scripts/test.sh

# Every FuzzXxx of the repository, FUZZTIME each (scripts/fuzz.sh finds them).
fuzz:
	FUZZTIME=$(FUZZTIME) scripts/fuzz.sh

bench-api:
	scripts/install-deps.sh bench
	$(GO) run ./bench/api $(BENCH_ARGS)

# The pages are listed in test/e2e/screenshots_test.go (screenshotPages): a page added later is
# one line there. Chromium looks at a real hub running Debian's jupyterhub-singleuser.
screenshots:
	scripts/install-deps.sh test
	mkdir -p $(SCREENSHOTS_DIR)
	rm -f $(SCREENSHOTS_DIR)/*.png
	GOHUB_SCREENSHOTS=$(CURDIR)/$(SCREENSHOTS_DIR) $(GO) test -count=1 -run '^TestScreenshots$$' -v ./test/e2e/

clean:
	rm -rf bin
