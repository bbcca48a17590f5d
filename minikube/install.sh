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
args_seen=()

root="$(cd "$(dirname "$0")/.." && pwd)"
dist="${GCRCRED_DIST:-$root/dist}"
can_build=
if [ -z "${GCRCRED_NO_BUILD:-}" ] && command -v go >/dev/null 2>&1 && command -v make >/dev/null 2>&1; then
	can_build=yes
fi

# What the arguments say, for the checks below (gcrcred reads them again).
help= dry_run= profile= credentials= minikube=minikube workload_identity=
while [ $# -gt 0 ] && [ "$1" != -- ]; do
	a="$1"
	v=
	case "$a" in
	-*=*) v="${a#*=}" a="${a%%=*}" ;;
	-p | --p | -profile | --profile | -credentials | --credentials | -minikube | --minikube | -workload-identity | --workload-identity)
		v="${2:-}"
		[ $# -gt 1 ] && { args_seen+=("$1"); shift; }
		;;
	esac
	case "$a" in
	-h | --help | -help) help=yes ;;
	-dry-run | --dry-run) dry_run=yes ;;
	-p | --p | -profile | --profile) profile="$v" ;;
	-credentials | --credentials) credentials="$v" ;;
	-minikube | --minikube) minikube="$v" ;;
	-workload-identity | --workload-identity) workload_identity="$v" ;;
	esac
	args_seen+=("$1")
	shift
done
set -- "${args_seen[@]}" "$@"

# Before anything is built (a cold build takes minutes): what install
# needs from this machine, each with its fix. A dry run checks nothing
# here: gcrcred lists everything missing after its plan.
if [ -z "$help" ] && [ -z "$dry_run" ]; then
	missing=()
	if ! command -v "$minikube" >/dev/null 2>&1; then
		missing+=("$minikube is not on PATH: install minikube (https://minikube.sigs.k8s.io/docs/start/) or pass --minikube PATH")
	else
		# minikube status exits with a bit mask (1: the host is down) or 85
		# for a profile that does not exist.
		rc=0
		"$minikube" ${profile:+-p "$profile"} status -o json >/dev/null 2>&1 || rc=$?
		if [ "$rc" = 85 ]; then
			missing+=("minikube profile ${profile:-minikube} does not exist: create it with \`minikube start${profile:+ -p $profile}\`, or pass -p PROFILE (\`minikube profile list\` shows them)")
		elif [ $((rc & 1)) = 1 ]; then
			missing+=("minikube profile ${profile:-minikube} is not running: start it with \`minikube start${profile:+ -p $profile}\`")
		fi
	fi
	adc="${CLOUDSDK_CONFIG:-${HOME:-/nonexistent}/.config/gcloud}/application_default_credentials.json"
	if [ -n "$credentials" ]; then
		[ -f "$credentials" ] || missing+=("--credentials $credentials: no such file here: check the path")
	elif [ -z "$workload_identity" ] && [ -z "${GCRCRED_CREDENTIALS:-}" ] && [ -z "${GOOGLE_APPLICATION_CREDENTIALS:-}" ] && ! [ -f "$adc" ]; then
		missing+=("no Google credentials on this host to copy to the nodes: pass --credentials KEY.json, or run \`gcloud auth application-default login\`")
	fi
	if [ ${#missing[@]} -gt 0 ]; then
		echo "* Missing (${#missing[@]}), each with its fix; nothing was built:" >&2
		for m in "${missing[@]}"; do
			echo "  - $m" >&2
		done
		echo "  (\`$0 --dry-run\` shows what install would do, without them)" >&2
		exit 1
	fi
fi

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
