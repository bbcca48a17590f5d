# gcrcred — see README.md. Every target works offline once Go modules are downloaded.
GO      ?= go
PREFIX  ?= /usr/local
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
DATE    ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
DATE    := $(DATE)
PKG     := github.com/gcrcred/gcrcred/internal/version
LDFLAGS := -s -w -X $(PKG).Version=$(VERSION) -X $(PKG).Commit=$(COMMIT) -X $(PKG).Date=$(DATE)
GOBUILD := CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)"

.PHONY: build test test-root test-kubelet kubelet-lookup dist install bench lint demo minikube-install clean

# On Linux the shipped binary is the launcher build (internal/launcher): the
# warm path without the full program's start-up cost, the full program
# embedded. The embedded file comes in through -overlay, so nothing is
# written into the source tree. Elsewhere the full program is the binary.
# $(call gcrcred,GOOS,GOARCH,OUT)
define gcrcred
	@echo "go build $(3) ($(1)/$(2))"
	@GOOS=$(1) GOARCH=$(2) $(GOBUILD) -o $(3).full ./cmd/gcrcred
	@if [ "$(1)" = linux ]; then \
		printf '{"Replace":{"%s":"%s"}}' "$(CURDIR)/internal/launcher/gcrcred-full" "$(abspath $(3)).full" > $(3).overlay.json && \
		GOOS=$(1) GOARCH=$(2) $(GOBUILD) -tags launcher -overlay $(3).overlay.json -o $(3) ./cmd/gcrcred && \
		rm -f $(3).full $(3).overlay.json; \
	else mv $(3).full $(3); fi
endef

HOST_OS   := $(shell $(GO) env GOOS)
HOST_ARCH := $(shell $(GO) env GOARCH)

build:
	@mkdir -p bin
	$(call gcrcred,$(HOST_OS),$(HOST_ARCH),bin/gcrcred)
	ln -sf gcrcred bin/docker-credential-gcrcred

# The root module, then the kubelet test module (it links k8s.io/kubernetes,
# kept out of the product's go.mod).
test: test-root test-kubelet

# Tests run the binary `make build` just wrote (GCRCRED_TEST_BIN_DIR), as a
# user would; CGO off everywhere so the kubelet module's test and its static
# kubelet-lookup helper share one build cache.
TEST_ENV := CGO_ENABLED=0 GCRCRED_TEST_BIN_DIR=$(CURDIR)/bin GCRCRED_TEST_KUBELET_LOOKUP=$(CURDIR)/bin/kubelet-lookup

# The kubelet's own plugin code as a static binary, run inside the fake
# minikube nodes; its first build (k8s.io/kubernetes) takes minutes.
kubelet-lookup:
	cd test/kubelet && CGO_ENABLED=0 $(GO) build -o ../../bin/kubelet-lookup ./cmd/kubelet-lookup

test-root: build kubelet-lookup
	$(TEST_ENV) $(GO) test -count=1 -timeout 9m ./...

test-kubelet: build
	cd test/kubelet && $(TEST_ENV) $(GO) test -count=1 -timeout 9m ./...

dist:
	@mkdir -p dist
	$(call gcrcred,linux,amd64,dist/gcrcred-linux-amd64)
	$(call gcrcred,linux,arm64,dist/gcrcred-linux-arm64)
	$(call gcrcred,darwin,arm64,dist/gcrcred-darwin-arm64)

install: build
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 bin/gcrcred $(DESTDIR)$(PREFIX)/bin/gcrcred
	ln -sf gcrcred $(DESTDIR)$(PREFIX)/bin/docker-credential-gcrcred

# Whole-process timings against a hello-world floor and docker-credential-gcr,
# then the Go micro-benchmarks.
bench: build
	$(GO) run ./test/bench
	$(GO) test -run '^$$' -bench . -benchmem ./internal/...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@mkdir -p bin && : > bin/.empty && printf '{"Replace":{"%s":"%s"}}' "$(CURDIR)/internal/launcher/gcrcred-full" "$(CURDIR)/bin/.empty" > bin/.lint-overlay.json
	$(GO) vet -tags launcher -overlay bin/.lint-overlay.json ./cmd/gcrcred ./internal/launcher
	cd test/kubelet && CGO_ENABLED=0 $(GO) vet ./...

# Offline end to end: fake Google + fake GCR on loopback, a real registry client.
demo: build
	$(GO) run ./test/demo

minikube-install:
	bash minikube/install.sh $(ARGS)

clean:
	rm -rf bin dist
