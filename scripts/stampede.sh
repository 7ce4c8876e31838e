#!/usr/bin/env bash
# stampede.sh runs the stampede simulator cases that docs/stampede.md shows,
# and regenerates the doc's tables and plots from them.
#
#   scripts/stampede.sh               run every case (about 20 minutes on 2 cores)
#   scripts/stampede.sh fleet slow    run only these cases
#   scripts/stampede.sh -regen        no run: tables and plots from the saved data
#   scripts/stampede.sh -check        no run: fail if a table in docs/stampede.md is
#                                     not what the saved data gives (CI runs this)
#
# Each case's report (stampede -json) is committed as
# docs/data/stampede-<case>.json; the doc's tables are printed from it by
# `stampede -from`, between the lines <!-- stampede:<case> --> and
# <!-- /stampede -->, and its plots are drawn from it by the plot command
# into docs/img/. So the doc, the plots and the data always come from one
# run, and anyone can regenerate them. Run it on a quiet machine: the
# reports record the load average at the start, and the doc shows it.
# A case whose flags name -redis 127.0.0.1:PORT runs against a real
# redis-server, which the script starts on that port for the case.
set -euo pipefail
cd "$(dirname "$0")/.."

DOC=docs/stampede.md
DATA=docs/data
IMG=docs/img

# case name | simulator flags | plot file prefix ("-": no plot)
cases() {
	cat <<'EOF_CASES'
default|-duration 4s -rounds 5|stampede
fleet|-procs 8 -duration 4s -rounds 5|stampede-fleet
fleet-refresh|-procs 8 -duration 4s -rounds 5 -schemes flight-xfetch,fleet,fleet-grace,fleet-xfetch|stampede-fleet-refresh
fleet-redis|-procs 8 -duration 4s -rounds 5 -schemes flight-xfetch,fleet,fleet-xfetch -redis 127.0.0.1:6390|-
slow|-latency 80ms -duration 4s -rounds 5|stampede-slow
stall|-stall-prob 0.2 -stall 2s -duration 4s -rounds 5 -schemes xsync,xsync-nocancel,flight,flight-grace,flight-xfetch,flight-hedge,stale-refresh|stampede-stall
stall-timeout|-stall-prob 0.2 -stall 2s -call-timeout 300ms -duration 4s -rounds 5 -schemes xsync,xsync-nocancel,flight,flight-grace,flight-xfetch,flight-hedge,stale-refresh|-
EOF_CASES
}

mode=run
case "${1:-}" in
-check) mode=check; shift ;;
-regen) mode=regen; shift ;;
esac
wanted=("$@")

want() {
	[ ${#wanted[@]} -eq 0 ] && return 0
	local w
	for w in "${wanted[@]}"; do [ "$w" = "$1" ] && return 0; done
	return 1
}

if [ "$mode" = run ]; then
	mkdir -p "$DATA"
	while IFS='|' read -r name flags _; do
		want "$name" || continue
		echo "== $name: stampede $flags" >&2
		redis=
		if [[ "$flags" =~ -redis\ 127\.0\.0\.1:([0-9]+) ]]; then
			port=${BASH_REMATCH[1]}
			if redis-cli -p "$port" ping >/dev/null 2>&1; then
				echo "stampede.sh: port $port is taken; case $name needs its own redis-server there" >&2
				exit 1
			fi
			redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --logfile '' >/dev/null &
			redis=$!
			until redis-cli -p "$port" ping >/dev/null 2>&1; do
				kill -0 "$redis" 2>/dev/null || { echo "stampede.sh: redis-server did not start on port $port" >&2; exit 1; }
				sleep 0.1
			done
		fi
		# shellcheck disable=SC2086 # flags are words
		go -C bench/stampede run . $flags -json -quiet >"$DATA/stampede-$name.json.tmp"
		mv "$DATA/stampede-$name.json.tmp" "$DATA/stampede-$name.json"
		if [ -n "$redis" ]; then kill "$redis" 2>/dev/null || true; wait "$redis" || true; fi
	done < <(cases)
fi

# table NAME prints the table of a saved case.
table() { go -C bench/stampede run . -from "$PWD/$DATA/stampede-$1.json"; }

# render prints docs/stampede.md with every generated block replaced.
render() {
	local out line name
	out=$(mktemp)
	while IFS= read -r line || [ -n "$line" ]; do
		printf '%s\n' "$line"
		if [[ "$line" =~ ^'<!-- stampede:'([a-z0-9-]+)' -->'$ ]]; then
			name=${BASH_REMATCH[1]}
			[ -f "$DATA/stampede-$name.json" ] || { echo "stampede.sh: $DOC wants $DATA/stampede-$name.json, which is missing" >&2; return 1; }
			echo '```text'
			table "$name"
			echo '```'
			# skip the old block up to its end marker
			while IFS= read -r line && [ "$line" != '<!-- /stampede -->' ]; do :; done
			echo '<!-- /stampede -->'
		fi
	done <"$DOC" >"$out"
	cat "$out"
	rm -f "$out"
}

tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
render >"$tmp"

if [ "$mode" = check ]; then
	fail=0
	if ! diff -u "$DOC" "$tmp" >&2; then
		echo "stampede.sh: the tables in $DOC are not what $DATA/stampede-*.json give (above: - the file, + the data); run scripts/stampede.sh -regen" >&2
		fail=1
	fi
	for img in $(grep -o '](img/[A-Za-z0-9_.-]*\.png)' "$DOC" | sed 's/^](//; s/)$//' | sort -u); do
		[ -f "docs/$img" ] || { echo "stampede.sh: $DOC shows docs/$img, which is missing" >&2; fail=1; }
	done
	[ "$fail" = 0 ] && echo "$DOC matches $DATA/stampede-*.json" >&2
	exit "$fail"
fi

cp "$tmp" "$DOC"
echo "wrote the tables of $DOC" >&2
while IFS='|' read -r name _ prefix; do
	want "$name" || continue
	[ "$prefix" = - ] && continue
	[ -f "$DATA/stampede-$name.json" ] || continue
	go -C bench/stampede/plot run . -dir "$PWD/$IMG" -name "$prefix" "$PWD/$DATA/stampede-$name.json"
done < <(cases)
