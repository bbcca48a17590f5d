#!/usr/bin/env bash
# Put gcrcred on every node of a minikube cluster, addon-style, with only this
# repository: build gcrcred for this host and for the Linux architectures the
# nodes have (nothing else), then run `gcrcred minikube install "$@"`.
# `make minikube-install ARGS="-p PROFILE"` calls it.
#
#   minikube/install.sh [-p PROFILE] [--credentials KEY.json] [--dry-run] ...
#   minikube/install.sh --help
#
# Environment: GCRCRED_DIST (where gcrcred-linux-<arch> are and go; default
# dist/), GCRCRED_BIN (the gcrcred to run on this host), GCRCRED_NO_BUILD=1
# (use what is there, build nothing).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
dist="${GCRCRED_DIST:-$root/dist}"
can_build=
if [ -z "${GCRCRED_NO_BUILD:-}" ] && command -v go >/dev/null 2>&1 && command -v make >/dev/null 2>&1; then
	can_build=yes
fi

help=
for a in "$@"; do
	case "$a" in
	-h | --help | -help) help=yes ;;
	esac
done

# The gcrcred that runs here: given, built, or this host's build in dist/.
# --help builds only if there is no gcrcred yet.
bin="${GCRCRED_BIN:-}"
if [ -n "$help" ] && [ -z "$bin" ] && [ -x "$root/bin/gcrcred" ]; then
	bin="$root/bin/gcrcred"
fi
if [ -z "$bin" ]; then
	if [ -n "$can_build" ]; then
		echo "* Building gcrcred for this host: make build -> $root/bin/gcrcred"
		make -C "$root" --no-print-directory build >/dev/null
	fi
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
	echo "install.sh: no gcrcred for this host ($root/bin/gcrcred or $dist/gcrcred-$os-$arch): install Go (https://go.dev/dl/) and rerun, or unpack a release into $dist" >&2
	exit 1
fi

if [ -n "$help" ]; then
	sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
	echo
	exec "$bin" minikube install --help
fi

# Only the Linux architectures the profile's nodes have (none known, e.g.
# minikube missing: build none, and install says what is missing).
if [ -n "$can_build" ]; then
	platforms=
	for a in $("$bin" minikube node-archs "$@" 2>/dev/null); do
		platforms="$platforms linux/$a"
	done
	if [ -n "$platforms" ]; then
		echo "* Building gcrcred for the nodes:$platforms -> $dist (make dist PLATFORMS=...)"
		make -C "$root" --no-print-directory dist PLATFORMS="${platforms# }" DIST="$dist" >/dev/null
	fi
fi

exec "$bin" minikube install --dist "$dist" "$@"
