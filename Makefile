# gcrcred — see README.md. Every target works offline once Go modules are downloaded.
GO      ?= go
PREFIX  ?= /usr/local
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
DATE    ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
PKG     := github.com/gcrcred/gcrcred/internal/version
LDFLAGS := -s -w -X $(PKG).Version=$(VERSION) -X $(PKG).Commit=$(COMMIT) -X $(PKG).Date=$(DATE)
GOBUILD := CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)"
DIST_PLATFORMS := linux/amd64 linux/arm64 darwin/arm64

.PHONY: build test test-root test-kubelet kubelet-lookup dist install bench lint demo minikube-install clean

build:
	$(GOBUILD) -o bin/gcrcred ./cmd/gcrcred
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
	@for p in $(DIST_PLATFORMS); do \
		os=$${p%/*}; arch=$${p#*/}; \
		echo "dist/gcrcred-$$os-$$arch"; \
		GOOS=$$os GOARCH=$$arch $(GOBUILD) -o dist/gcrcred-$$os-$$arch ./cmd/gcrcred || exit 1; \
	done

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
	cd test/kubelet && $(GO) vet ./...

# Offline end to end: fake Google + fake GCR on loopback, a real registry client.
demo: build
	$(GO) run ./test/demo

minikube-install:
	bash minikube/install.sh $(ARGS)

clean:
	rm -rf bin dist
