#!/usr/bin/env bash
# check-versions.sh checks that the Go versions the repository states are
# true. The README states the core's minimum (the root go.mod's go line)
# for its two commands, and names every module that needs more. Each is run
# on exactly the version it states, fetched through the module proxy as
# golang.org/toolchain and pinned with GOTOOLCHAIN=go<version>, so no
# newer toolchain can stand in for it:
#   - the README's test command and demo on the root's version;
#   - the tests of every module that states another version, on that one.
# Where a toolchain cannot be fetched, it falls back to checking that no
# module requires a newer Go than the one that depends on it states.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/modules.sh

base=$(go_directive .)
fail=0
short=${base%.0}
grep -q "Go $short or later" README.md || { echo "README.md does not state \"Go $short or later\" (the root go.mod says go $base)" >&2; fail=1; }
for m in "${modules[@]}"; do
	need=$(go_directive "$m")
	if [ "$need" != "$base" ] && ! grep -q "Go ${need%.0}" README.md; then
		echo "README.md does not say that $m needs Go ${need%.0}" >&2
		fail=1
	fi
done

installable() { GOTOOLCHAIN="go$1" go version >/dev/null 2>&1; }

# directives_only M: no module in M's graph asks for a newer Go than M does.
directives_only() {
	local need bad
	need=$(go_directive "$1")
	bad=$(go -C "$1" list -m -f '{{.Path}} {{.GoVersion}}' all | while read -r path v; do
		[ -n "$v" ] || continue
		v=$(go_release "$v")
		version_le "$v" "$need" || echo "$path needs go$v"
	done)
	if [ -n "$bad" ]; then
		echo "$1 states go $need, but:" >&2
		echo "$bad" >&2
		return 1
	fi
}

if installable "$base"; then
	echo "== the README's commands on go$base" >&2
	GOTOOLCHAIN="go$base" bash scripts/test.sh || fail=1
	GOTOOLCHAIN="go$base" go -C bench/stampede run . -duration 300ms -clients 20 -rounds 1 -quiet >/dev/null || fail=1
else
	echo "go$base cannot be fetched here; checking the go directives only" >&2
	for m in "${modules[@]}"; do
		[ "$(go_directive "$m")" = "$base" ] && { directives_only "$m" || fail=1; }
	done
fi
for m in "${modules[@]}"; do
	need=$(go_directive "$m")
	[ "$need" = "$base" ] && continue
	if installable "$need"; then
		echo "== $m on go$need" >&2
		GOTOOLCHAIN="go$need" go -C "$m" test -count=1 ./... || fail=1
	else
		echo "go$need cannot be fetched here; checking $m's go directives only" >&2
		directives_only "$m" || fail=1
	fi
done
[ "$fail" = 0 ] && echo "stated Go versions hold: go$base for the README's commands; $(for m in "${modules[@]}"; do printf '%s go%s; ' "$m" "$(go_directive "$m")"; done)"
exit "$fail"
