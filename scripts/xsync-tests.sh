#!/usr/bin/env bash
# Runs golang.org/x/sync/singleflight's own tests against flight.Group[string, any].
#
# The test file is taken from the module cache and rewritten with type names
# only (Group -> Group[string, any], panicError{value: -> PanicError{Value:).
# It is compiled into package flight through `go test -overlay`, so no copy of
# it is committed here. Usage: scripts/xsync-tests.sh [go test flags...]
set -euo pipefail
cd "$(dirname "$0")/.."
version=v0.25.0
moddir=$(go mod download -json "golang.org/x/sync@$version" | sed -n 's/.*"Dir": "\(.*\)",/\1/p')
src="$moddir/singleflight/singleflight_test.go"
[ -f "$src" ] || { echo "xsync-tests: $src not found" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed -e 's/^package singleflight$/package flight/' \
    -e 's/\bnew(Group)/new(Group[string, any])/g' \
    -e 's/&Group{}/\&Group[string, any]{}/g' \
    -e 's/var g Group$/var g Group[string, any]/' \
    -e 's/&panicError{value:/\&PanicError{Value:/g' \
    "$src" > "$tmp/xsync_port_test.go"
target="$PWD/flight/xsync_port_test.go"
printf '{"Replace":{"%s":"%s"}}\n' "$target" "$tmp/xsync_port_test.go" > "$tmp/overlay.json"
go test -overlay "$tmp/overlay.json" -run 'Test(PanicErrorUnwrap|Do|DoErr|DoDupSuppress|Forget|DoChan|PanicDo|GoexitDo|PanicDoChan|PanicDoSharedByDoChan)$|ExampleGroup$' "$@" ./flight/
