#!/usr/bin/env bash
# make fresh-check: the README's opening commands (make demo, make test) and
# the release (make release-snapshot, make release-check) on a machine that
# has only Go, make and git (to clone): a Debian bookworm minbase root made
# by debootstrap, this machine's Go copied in, a fresh clone of HEAD, run as
# root in a chroot with mount and PID namespaces of its own (its own /proc).
#
# Network: Debian's mirror for debootstrap only (once: the root is cached
# as a tarball in $FRESH_DIR). Go modules come from this machine's module
# cache served as a file:// GOPROXY into the root's empty module cache, so
# the check also shows go.sum and the module lists are complete; the Go
# build cache starts empty. Nothing of this machine's PATH or packages is
# reachable from inside.
#
# Environment: FRESH_DIR (default /var/tmp/gcrcred-fresh), FRESH_MIRROR (Debian mirror),
# FRESH_TARGETS (default "demo test release-snapshot release-check").
# Commits only: uncommitted changes are not in the clone.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
# Outside the checkout: a Go tree in it would join `go vet ./...`.
dir=${FRESH_DIR:-/var/tmp/gcrcred-fresh}
mirror=${FRESH_MIRROR:-http://deb.debian.org/debian}
targets=${FRESH_TARGETS:-demo test release-snapshot release-check}

fail() { echo "make fresh-check: $*" >&2; exit 2; }
[ "$(id -u)" = 0 ] || fail "run it as root (debootstrap, mounts, chroot)"
for tool in debootstrap:debootstrap unshare:util-linux git:git go:golang; do
	command -v "${tool%%:*}" >/dev/null || fail "this machine lacks ${tool%%:*}: apt-get install -y ${tool#*:}"
done
goroot=$(go env GOROOT)
goproxy=$(go env GOMODCACHE)/cache/download
commit=$(git rev-parse HEAD)
if [ -n "$(git status --porcelain --untracked-files=no)" ]; then
	echo "make fresh-check: the work tree has uncommitted changes; the clone is of $commit only"
fi

mkdir -p "$dir"
base=$dir/bookworm-minbase.tar
if [ ! -f "$base" ]; then
	echo "== debootstrap --variant=minbase --include=make,git bookworm (once, cached as $base)"
	rm -rf "$dir/base"
	start=$SECONDS
	debootstrap --variant=minbase --include=make,git bookworm "$dir/base" "$mirror" >"$dir/debootstrap.log" 2>&1 ||
		{ tail -20 "$dir/debootstrap.log"; fail "debootstrap failed (log: $dir/debootstrap.log)"; }
	tar -C "$dir/base" -cf "$base.tmp" . && mv "$base.tmp" "$base"
	rm -rf "$dir/base"
	echo "-- $((SECONDS - start)) s"
fi

root=$dir/root
rm -rf "$root"
mkdir -p "$root"
tar -C "$root" -xf "$base"
cp -a "$goroot" "$root/usr/local/go"
git clone --quiet --no-checkout "$repo" "$root/src/gcrcred"
git -C "$root/src/gcrcred" checkout --quiet --detach "$commit"
mkdir -p "$root/mnt/goproxy"

# Inside: a login-like environment; no GOFLAGS, GOCACHE or GOPATH of this
# machine; Go modules from the file proxy only.
inside='set -u
export PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
export GOPROXY=file:///mnt/goproxy GOSUMDB=off GOTOOLCHAIN=local
cd /src/gcrcred
echo "inside: $(. /etc/os-release; echo "$PRETTY_NAME"), $(go version), $(make --version | head -1), $(git --version)"
echo "inside: $(ls /usr/bin /usr/sbin | grep -cv ":") programs in /usr/bin and /usr/sbin; strace: $(command -v strace || echo none), busybox: $(command -v busybox || echo none), docker: $(command -v docker || echo none)"
for target in '"$targets"'; do
	echo "== make $target"
	start=$(date +%s)
	make "$target"
	code=$?
	echo "-- make $target: exit $code, $(( $(date +%s) - start )) s"
	[ $code = 0 ] || exit $code
done
if [ -d dist/release ]; then ls -l dist/release; fi'

log=$dir/fresh-check.log
echo "== fresh clone of $commit in a bookworm minbase root with Go and make (log: $log)"
start=$SECONDS
set +e
unshare --mount --pid --fork --propagation private bash -euc '
	root=$1 goproxy=$2
	# The root a mount of its own, as a machine'"'"'s / is (unshare --mount
	# inside changes its propagation).
	mount --bind "$root" "$root"
	mount -t proc proc "$root/proc"
	mount --rbind /dev "$root/dev"
	mount --bind -o ro "$goproxy" "$root/mnt/goproxy"
	mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"
	exec chroot "$root" env -i TERM=dumb bash -c "$3"
' fresh "$root" "$goproxy" "$inside" 2>&1 | tee "$log"
code=${PIPESTATUS[0]}
set -e
echo "== make fresh-check: exit $code after $((SECONDS - start)) s"
exit "$code"
