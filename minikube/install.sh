#!/usr/bin/env bash
# Put gcrcred on every node of a minikube cluster, addon-style, with only this
# repository: build the binaries the nodes need (or use those in dist/), then run
# `gcrcred minikube install "$@"`. `make minikube-install ARGS="-p PROFILE"` calls it.
#
#   minikube/install.sh [-p PROFILE] [--credentials KEY.json] [--dry-run] ...
#
# Environment: GCRCRED_DIST (where gcrcred-linux-<arch> are; default dist/),
# GCRCRED_BIN (the gcrcred to run on this host), GCRCRED_NO_BUILD=1 (use what is
# there, do not build).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
dist="${GCRCRED_DIST:-$root/dist}"

if ! command -v minikube >/dev/null 2>&1; then
	echo "install.sh: minikube is not on PATH: install it (https://minikube.sigs.k8s.io/docs/start/)" >&2
	exit 1
fi

if [ -z "${GCRCRED_NO_BUILD:-}" ]; then
	if command -v go >/dev/null 2>&1 && command -v make >/dev/null 2>&1; then
		echo "* Building gcrcred for this host and for minikube's nodes (make build dist)"
		make -C "$root" --no-print-directory build dist >/dev/null
	elif ! ls "$dist"/gcrcred-linux-* >/dev/null 2>&1; then
		echo "install.sh: no Go toolchain to build gcrcred, and no $dist/gcrcred-linux-*: install Go (https://go.dev/dl/) or unpack a release into $dist" >&2
		exit 1
	fi
fi

# The gcrcred that runs here: given, built, or this host's build in dist/.
bin="${GCRCRED_BIN:-}"
if [ -z "$bin" ]; then
	os="$(uname -s | tr '[:upper:]' '[:lower:]')"
	case "$(uname -m)" in
	x86_64 | amd64) arch=amd64 ;;
	aarch64 | arm64) arch=arm64 ;;
	*) arch="$(uname -m)" ;;
	esac
	for candidate in "$root/bin/gcrcred" "$dist/gcrcred-$os-$arch"; do
		if [ -x "$candidate" ]; then
			bin="$candidate"
			break
		fi
	done
fi
if [ -z "$bin" ]; then
	echo "install.sh: no gcrcred for this host ($root/bin/gcrcred or $dist/gcrcred-$os-$arch): run \`make build\`" >&2
	exit 1
fi

exec "$bin" minikube install --dist "$dist" "$@"
