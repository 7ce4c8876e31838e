#!/usr/bin/env bash
# check-modules.sh checks what every module of the repository must have:
# a go.mod and go.sum that `go mod tidy` would leave as they are, and a copy
# of the root LICENSE (the go command would copy the root one into a nested
# module's zip by itself, but license scanners that read a module's own
# directory would not find it). Every package with tests must also check for
# leaked goroutines: a TestMain that calls goleak.VerifyTestMain.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/modules.sh
fail=0
for m in "${modules[@]}"; do
	if ! out=$(go -C "$m" mod tidy -diff 2>&1); then
		echo "$m: go.mod/go.sum are not tidy; run: go -C $m mod tidy" >&2
		echo "$out" >&2
		fail=1
	fi
	if [ "$m" != . ] && ! cmp -s LICENSE "$m/LICENSE"; then
		echo "$m: LICENSE missing or different from the root's; run: cp LICENSE $m/" >&2
		fail=1
	fi
	while read -r dir ntests; do
		[ "$ntests" -gt 0 ] || continue
		if ! grep -qs 'goleak.VerifyTestMain' "$dir"/*_test.go; then
			echo "${dir#"$PWD"/}: tests without goleak: add a TestMain that calls goleak.VerifyTestMain(m)" >&2
			fail=1
		fi
	done < <(go -C "$m" list -f '{{.Dir}} {{len .TestGoFiles}}{{len .XTestGoFiles}}' ./...)
done
[ "$fail" = 0 ] && echo "${#modules[@]} modules tidy and licensed, every tested package checked by goleak: ${modules[*]}"
exit "$fail"
