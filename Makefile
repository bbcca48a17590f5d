# gcrcred — see README.md. Every target works offline once Go modules are downloaded,
# but for make bench's docker-credential-gcr rows (fetched from the Go module proxy).
GO      ?= go
PREFIX  ?= /usr/local
# The version is what Go records from git (a release tag on a tagged commit,
# a pseudo-version between tags; internal/version): nothing is stamped with
# -ldflags -X, which -trimpath would keep out of the build information the
# installers read from a binary, so `gcrcred version` and their plans agree.
LDFLAGS := -s -w
# The same program as `go build ./cmd/gcrcred` and `go install`, static (it
# runs on minikube's Buildroot nodes, no libc). -buildvcs=auto: a machine's
# GOFLAGS=-buildvcs=false would otherwise leave the version out.
GOBUILD := CGO_ENABLED=0 $(GO) build -trimpath -buildvcs=auto -ldflags "$(LDFLAGS)"

.PHONY: build test test-fakes e2e kubelet-lookup dist image image-push install bench lint demo minikube-install kind-install clean release-snapshot release-check test-windows fresh-check

HOST_OS   := $(shell $(GO) env GOOS)
HOST_ARCH := $(shell $(GO) env GOARCH)

build:
	@mkdir -p bin
	@echo "go build bin/gcrcred ($(HOST_OS)/$(HOST_ARCH))"
	@$(GOBUILD) -o bin/gcrcred ./cmd/gcrcred
	@ln -sf gcrcred bin/docker-credential-gcrcred

# The three modules' tests, summarised by test/testsummary (failures in
# full, and how many tests skipped and why): the root module, the kubelet
# test module (it links k8s.io/kubernetes, kept out of the product's
# go.mod) and the chart's (Helm v4: charts/gcrcred against deploy/).
# test/testrun is go test -json that keeps the test binaries in bin/tests
# and links again only those whose code changed. They need Go, make, git
# and root, nothing else: what they run they build from this repository
# (the fake node roots' userland, the tracer).
#
# The tests' temporary files (fake node roots, caches, homes) go to a
# directory of their own on /dev/shm when it is a tmpfs that allows
# programs, set-uid and devices (the fake nodes need all three) with 2 GiB
# free: the node tests create and remove tens of thousands of files, which
# costs a third of their time on a disk file system. TEST_TMPDIR=DIR picks
# another; without either, TMPDIR.
test: build kubelet-lookup test-fakes
	@rm -f bin/test.rc; \
	 tmp="$(TEST_TMPDIR)"; \
	 if [ -z "$$tmp" ] && \
	    awk '$$2 == "/dev/shm" { ok = $$3 == "tmpfs" && $$4 !~ /(^|,)(nosuid|nodev|noexec)(,|$$)/ } END { exit !ok }' /proc/mounts 2>/dev/null && \
	    [ "$$(df -Pk /dev/shm | awk 'NR == 2 { print $$4 }')" -ge 2097152 ] && \
	    tmp=$$(mktemp -d /dev/shm/gcrcred-test.XXXXXX); then \
	   trap 'rm -rf "$$tmp"' EXIT; trap 'exit 130' INT TERM HUP; chmod 1777 "$$tmp"; \
	 fi; \
	 TMPDIR=$${tmp:-$${TMPDIR:-/tmp}} $(TEST_ENV) $(GO) run ./test/testrun -bin bin/tests -json bin/test.json . test/kubelet test/chart; echo $$? > bin/test.rc; \
	 $(GO) run ./test/testsummary bin/test.rc < bin/test.json

# Tests run the binary `make build` just wrote (GCRCRED_TEST_BIN_DIR), as a
# user would; CGO off everywhere so the kubelet module's test and its static
# kubelet-lookup helper share one build cache.
TEST_ENV := CGO_ENABLED=0 GCRCRED_TEST_BIN_DIR=$(CURDIR)/bin GCRCRED_TEST_KUBELET_LOOKUP=$(CURDIR)/bin/kubelet-lookup GCRCRED_TEST_FAKES_DIR=$(CURDIR)/bin/fakes

# The fake minikube and the fake nodes' userland, built once for all the
# packages whose tests make fake nodes (test/fakeminikube/fakecluster).
test-fakes:
	@mkdir -p bin/fakes
	@CGO_ENABLED=0 $(GO) build -o bin/fakes/minikube ./test/fakeminikube
	@CGO_ENABLED=0 $(GO) build -o bin/fakes/userland ./test/userland

# The kubelet's own plugin code as a static binary, run inside the fake
# node roots.
kubelet-lookup:
	@mkdir -p bin
	@if ! [ -x bin/kubelet-lookup ]; then echo "Building bin/kubelet-lookup from k8s.io/kubernetes: minutes the first time (a cold Go build cache), seconds after."; fi
	@cd test/kubelet && CGO_ENABLED=0 $(GO) build -o ../../bin/kubelet-lookup ./cmd/kubelet-lookup

# Static binaries for release and for the nodes; minikube/install.sh asks
# only for the architectures its nodes have (PLATFORMS=linux/arm64, say).
PLATFORMS ?= linux/amd64 linux/arm64 darwin/arm64
DIST      ?= dist

dist:
	@mkdir -p $(DIST)
	@for p in $(PLATFORMS); do \
		echo "go build $(DIST)/gcrcred-$${p%/*}-$${p#*/}"; \
		GOOS=$${p%/*} GOARCH=$${p#*/} $(GOBUILD) -o $(DIST)/gcrcred-$${p%/*}-$${p#*/} ./cmd/gcrcred || exit 1; \
	done

# The DaemonSet's container image (deploy/): the static linux/amd64 and
# linux/arm64 binaries of `make dist` in one multi-arch OCI image, built
# without a Docker daemon, written as an OCI layout tarball. Its time is the
# last commit's (SOURCE_DATE_EPOCH), so the same binaries give the same digests;
# its version and revision are the binaries' own. It prints the index digest
# for the kustomization's `digest:`.
IMAGE_TAR         ?= dist/gcrcred-image.tar
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
IMAGE_FLAGS        = --out $(IMAGE_TAR)
IMAGE_BINARIES     = linux/amd64=dist/gcrcred-linux-amd64 linux/arm64=dist/gcrcred-linux-arm64

image:
	@$(MAKE) --no-print-directory dist PLATFORMS="linux/amd64 linux/arm64"
	@SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) $(GO) run ./build/image $(IMAGE_FLAGS) $(IMAGE_BINARIES)

# make image-push IMAGE=REGISTRY/REPOSITORY/gcrcred:TAG (with Docker's credentials)
image-push:
	@$(MAKE) --no-print-directory dist PLATFORMS="linux/amd64 linux/arm64"
	@if [ -z "$(IMAGE)" ]; then echo "usage: make image-push IMAGE=REGISTRY/REPOSITORY/gcrcred:TAG"; exit 2; fi
	@SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) $(GO) run ./build/image $(IMAGE_FLAGS) --push $(IMAGE) $(IMAGE_BINARIES)

# Release archives for every platform of .goreleaser.yaml (tar.gz, zip on
# Windows), a CycloneDX SBOM per archive, SHA256SUMS and the Homebrew
# formula, offline and reproducibly, in dist/release (build/release); the
# commit checked out is built, from a clean clone. Not part of `make test`:
# CI runs it and the check after the tests.
release-snapshot:
	$(GO) run ./build/release snapshot

# What the README and .goreleaser.yaml promise of dist/release: archives,
# contents, checksums, SBOMs, formula; binaries answer `version` where this
# machine can run them (windows/amd64 under Wine, if installed).
release-check:
	$(GO) run ./build/release check $(RELEASE_CHECK_FLAGS)

# The Docker helper's packages, their tests cross-compiled for windows/amd64
# and run under Wine (apt-get install wine64 binutils-mingw-w64-x86-64); then
# the windows/amd64 helper as Docker runs it, against the fake Google.
WINDOWS_TEST_PACKAGES := ./internal/privdir ./internal/atomicfile ./internal/cache ./internal/credfile ./internal/dockerconfig ./internal/logins ./internal/stdin ./internal/registries ./internal/smallfile
test-windows:
	$(GO) run ./build/wine test $(WINDOWS_TEST_PACKAGES)
	GCRCRED_TEST_WINE=1 $(GO) test -count=1 -v -run TestDockerHelperOnWindows ./build/internal/wine

install: build
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 bin/gcrcred $(DESTDIR)$(PREFIX)/bin/gcrcred
	ln -sf gcrcred $(DESTDIR)$(PREFIX)/bin/docker-credential-gcrcred

# A real single-node cluster on loopback, in namespaces of its own (root):
# Debian's systemd as the node's PID 1, kubeadm's PKI and static pods, etcd
# and Kubernetes built from the versions test/kubelet pins (minutes the
# first time, cached in bin/e2e), Debian's containerd; gcrcred installed by
# the DaemonSet in deploy/ against a fake Google and a fake gcr.io.
e2e: build image
	cd test/kubelet && CGO_ENABLED=0 GCRCRED_E2E=1 GCRCRED_TEST_BIN_DIR=$(CURDIR)/bin GCRCRED_E2E_IMAGE=$(CURDIR)/$(IMAGE_TAR) $(GO) test -count=1 -timeout 30m -v -run '^TestE2E$$' ./e2e/

# Whole-process timings against a hello-world floor and docker-credential-gcr,
# then the Go micro-benchmarks.
bench: build
	$(GO) run ./test/bench
	$(GO) test -run '^$$' -bench . -benchmem ./internal/... ./provider/...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) test -count=1 ./test/imports
	cd test/kubelet && CGO_ENABLED=0 $(GO) vet ./...
	cd test/chart && CGO_ENABLED=0 $(GO) vet ./...
	@mkdir -p bin
	$(GO) build -C build/tools -o $(CURDIR)/bin/staticcheck honnef.co/go/tools/cmd/staticcheck
	bin/staticcheck ./...
	cd test/kubelet && CGO_ENABLED=0 ../../bin/staticcheck ./...
	cd test/chart && CGO_ENABLED=0 ../../bin/staticcheck ./...

# Offline end to end: fake Google + fake GCR on loopback, a real registry client.
demo: build
	$(GO) run ./test/demo

# Every node of the running minikube profile (ARGS="-p PROFILE --credentials
# KEY.json"). A dry run that lists what is missing has done its job: make
# does not report it as a failed build.
minikube-install:
	@bash minikube/install.sh $(ARGS) || { code=$$?; case " $(ARGS) " in *" --dry-run "*|*" -dry-run "*) [ $$code = 1 ] && exit 0 ;; esac; exit $$code; }

# Every node of a kind cluster (ARGS="--name CLUSTER --credentials KEY.json").
kind-install: build
	@$(MAKE) --no-print-directory dist PLATFORMS="linux/amd64 linux/arm64"
	bin/gcrcred kind install --dist $(DIST) $(ARGS)

# make demo, make test and the release on a machine with only Go, make and
# git: a fresh clone of HEAD in a Debian minbase root (debootstrap, root;
# build/fresh-check.sh says how). Not part of make test or CI.
fresh-check:
	@bash build/fresh-check.sh

clean:
	rm -rf bin dist
