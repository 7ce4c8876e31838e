# modules.sh, sourced by the other scripts, sets `modules` to the directory of
# every Go module in the repository (every go.mod outside testdata), the
# root first. A new module is picked up by CI and the test command without
# being listed anywhere.
modules=(.)
while IFS= read -r mod; do
	modules+=("$mod")
done < <(find . -name go.mod -not -path './go.mod' -not -path '*/testdata/*' -not -path './.*' -printf '%h\n' | sed 's|^\./||' | LC_ALL=C sort)

# go_release V prints Go version V as x.y.z: a go line's 1.25 means the
# release 1.25.0.
go_release() {
	case "$1" in
	*.*.*) echo "$1" ;;
	*) echo "$1.0" ;;
	esac
}

# go_directive DIR prints the go version that DIR/go.mod requires, as x.y.z.
go_directive() {
	go_release "$(sed -n 's/^go \([0-9.]*\).*/\1/p' "$1/go.mod")"
}

# version_le A B reports whether Go version A is at most B (both x.y.z).
version_le() {
	[ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n1)" = "$1" ]
}
