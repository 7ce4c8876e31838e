#!/usr/bin/env bash
# The test command from the README: the tests of every module.
#
# A module whose go.mod asks for a newer Go than the one running is skipped
# with a note instead of letting the go command download that toolchain
# behind your back (bench/ needs the Go that tailscale.com requires). Set
# GOTOOLCHAIN=go<version> to run it on that version anyway.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/modules.sh
have=$(go_release "$(go env GOVERSION | sed 's/^go//')")
skipped=()
for m in "${modules[@]}"; do
	need=$(go_directive "$m")
	if ! version_le "$need" "$have"; then
		skipped+=("$m:$need")
		continue
	fi
	echo "== go test ./... in $m" >&2
	go -C "$m" test -count=1 ./...
done
for s in ${skipped[@]+"${skipped[@]}"}; do
	echo "skipped ${s%%:*}: it needs go${s##*:} and this is go$have (GOTOOLCHAIN=go${s##*:} bash scripts/test.sh includes it)" >&2
done
