#!/usr/bin/env bash
# perf.sh runs the peer benchmarks of the bench module (flight against x/sync,
# resenje and tailscale, batch against two dataloaders, fleet against a
# hand-written Redis lock, in one process) and regenerates
# docs/performance.md from the result.
#
#   scripts/perf.sh                      every benchmark, COUNT=10 runs each
#   COUNT=6 scripts/perf.sh              fewer runs (benchstat needs 6 or more)
#   COUNT=1 ROUNDS=8 scripts/perf.sh     8 rounds of go test -count=1, appended: each
#                                        benchmark's samples are spread over the whole
#                                        run, so a noisy neighbour for a few seconds
#                                        skews one sample of each, not all of one (the
#                                        test binary is built once for all rounds)
#   scripts/perf.sh 'HotKey|CtxWaiters'  only benchmarks matching a -bench regexp
#   scripts/perf.sh . -cpu=1,2           extra flags go to go test
#   INPUT=bench/out/x.txt scripts/perf.sh
#                                        no run: regenerate the doc from a saved run
#   scripts/perf.sh -check               no run: fail if docs/performance.md is not what
#                                        the committed data gives (CI runs this)
#
# The doc and its data are written together: the raw output of the run that
# docs/performance.md shows is committed as docs/data/performance.txt, with
# docs/data/performance.meta beside it (the machine and the command), so that
# anyone can regenerate the same document and CI can check that it matches.
# Every run also keeps a copy in bench/out/ (gitignored). The doc's
# hand-written part is the template below; everything else in
# docs/performance.md is generated.
set -euo pipefail
cd "$(dirname "$0")/.."

COUNT="${COUNT:-10}"
ROUNDS="${ROUNDS:-1}"
CHECK=""
if [ "${1:-}" = -check ]; then
	CHECK=1
	shift
	INPUT=docs/data/performance.txt
fi
BENCH="${1:-.}"
shift || true
BENCHSTAT_VERSION=v0.0.0-20260908200009-22c9c6c9d4da
DOC=docs/performance.md
DATA=docs/data/performance

# benchstat: the one on PATH, else the pinned version, installed once.
benchstat_cmd() {
	if command -v benchstat >/dev/null; then
		benchstat "$@"
		return
	fi
	local bin
	bin="$(go env GOPATH)/bin/benchstat"
	if [ ! -x "$bin" ]; then
		echo "installing benchstat@$BENCHSTAT_VERSION" >&2
		go install "golang.org/x/perf/cmd/benchstat@$BENCHSTAT_VERSION"
	fi
	"$bin" "$@"
}

metaval() { [ -f "$meta" ] && sed -n "/^$1: /{s/^$1: //p;q}" "$meta" || true; }

# --- run (unless INPUT names a saved one) --------------------------------------
if [ -n "${INPUT:-}" ]; then
	out="$INPUT"
	meta="${out%.txt}.meta"
	[ -f "$out" ] || { echo "perf.sh: no such file: $out" >&2; exit 1; }
else
	mkdir -p bench/out
	stamp=$(date -u +%Y%m%dT%H%M%SZ)
	out="bench/out/bench-$stamp.txt"
	meta="bench/out/bench-$stamp.meta"
	cmd=(go -C bench test -run='^$' "-bench=$BENCH" "-count=$COUNT" "$@")
	{
		echo "date: $(date -u +%Y-%m-%d)"
		echo "nproc: $(nproc)"
		echo "cpu: $(sed -n '/^model name/{s/^model name[[:space:]]*: //p;q}' /proc/cpuinfo)"
		echo "go: $(go version)"
		echo "flight: $(git log -1 --format=%h -- flight go.mod)$(git diff --quiet HEAD -- flight go.mod || echo ' with uncommitted changes')"
		echo "kernel: $(uname -sr)"
		rounds=""
		[ "$ROUNDS" -gt 1 ] && rounds="$ROUNDS rounds of "
		echo "command: ${rounds}go -C bench test -run='^\$' -bench='$BENCH' -count=$COUNT${*:+ $*}"
	} >"$meta"
	echo "running: $(metaval command) > $out" >&2
	: >"$out"
	if [ "$ROUNDS" -le 1 ]; then
		"${cmd[@]}" | tee "$out" >&2
	else
		# Build once, so that every round measures the same code even when
		# someone edits flight/ while the rounds run.
		bin="$PWD/bench/out/bench-$stamp.test"
		trap 'rm -f "$bin"' EXIT
		go -C bench test -c -o "$bin"
		targs=(-test.run='^$' "-test.bench=$BENCH" "-test.count=$COUNT")
		for a in "$@"; do
			case "$a" in
			-test.*) targs+=("$a") ;;
			--*) targs+=("-test.${a#--}") ;;
			-*) targs+=("-test.${a#-}") ;;
			*) targs+=("$a") ;;
			esac
		done
		for ((round = 1; round <= ROUNDS; round++)); do
			(cd bench && "$bin" "${targs[@]}") | tee -a "$out" >&2
		done
		rm -f "$bin"
		trap - EXIT
	fi
	cp "$out" bench/out/latest.txt
	cp "$meta" bench/out/latest.meta
fi


# --- medians: "case<TAB>procs<TAB>impl<TAB>unit<TAB>median" -------------------
medians() {
	awk -v OFS='\t' '
	/^Benchmark/ {
		name = $1; procs = 1
		if (match(name, /-[0-9]+$/)) { procs = substr(name, RSTART + 1); name = substr(name, 1, RSTART - 1) }
		sub(/^Benchmark/, "", name)
		n = split(name, part, "/"); c = ""; impl = ""
		for (i = 1; i <= n; i++) {
			if (part[i] ~ /^impl=/) { impl = substr(part[i], 6); continue }
			c = (c == "" ? part[i] : c "/" part[i])
		}
		if (impl == "") next
		for (i = 3; i < NF; i += 2) print c, procs, impl, $(i + 1), $i
	}' "$out" | sort -t "$(printf '\t')" -k1,1 -k2,2 -k3,3 -k4,4 -k5,5g |
	awk -F '\t' -v OFS='\t' '
	function flush() { if (n) print key, (n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2) }
	{ k = $1 OFS $2 OFS $3 OFS $4; if (k != key) { flush(); key = k; n = 0 } v[++n] = $5 }
	END { flush() }'
}

# --- targets: case | baseline impl | max ratio | max allocs/op | what [| bytes] -
# max allocs "joiner" means: allocations per joiner, beyond the starter's
# (flight's Do/keys=distinct), must stay under 0.05. An allocation made by
# every joiner would show as 1.00 or more; runtime refills of its wait queues
# after a GC show as a few hundredths at 1024 callers. A sixth field "base"
# also requires flight's B/op to be at most the baseline's; a number, at most
# that many B/op.
targets() {
	cat <<'EOF'
Do/keys=distinct|xsync|1.03|1|Do, distinct keys, serial|80
Do/keys=distinct|floor|-|-|Do against its floor: mutex, map insert and delete, one allocation (no target)
DoParallel/keys=distinct|xsync|1.03|1|Do, distinct keys, parallel|80
DoParallel/keys=one|xsync|-|-|Do, one key, parallel (no target)
HotKey/callers=8|xsync|1.0|joiner|Do, 8 callers per call
HotKey/callers=64|xsync|1.0|joiner|Do, 64 callers per call
HotKey/callers=1024|xsync|1.0|joiner|Do, 1024 callers per call
DoCtx/ctx=cancel|xsync|0.80|3|DoCtx, cancellable ctx, vs x/sync DoChan+select (a miss: the floor and lean rows below, which keep no statistics, give fn no context and handle no panic, come near the 0.80x target or miss it themselves on this machine; flight pays 1.15-1.25x lean (across runs) for those features, spread over many small costs, none of which alone gains 5% when removed)|300
DoCtx/ctx=cancel|resenje|1.0|-|DoCtx, cancellable ctx, vs resenje
DoCtx/ctx=cancel|tailscale|1.0|-|DoCtx, cancellable ctx, vs tailscale DoChanContext+select
DoCtx/ctx=cancel|floor|-|-|DoCtx against its floor: goroutine and channel handoff with a select, mutex, map, one allocation (no target)
DoCtx/ctx=cancel|xsync-do|-|-|DoCtx, cancellable ctx, vs x/sync Do, which cannot detach (no target)
DoCtx/ctx=cancel|lean|-|-|DoCtx against lean: flight's design with its features taken out (no target)
DoCtx/ctx=cancel-watched|xsync|1.2|-|DoCtx, cancellable ctx, fn watches its ctx, vs x/sync DoChan+select
DoCtx/ctx=background|xsync-do|1.1|-|DoCtx, context.Background(), vs x/sync Do
CtxWaiters/callers=8|xsync|0.7|-|8 ctx waiters vs DoChan+select (where it misses: the lean row below, flight's design with its features taken out, misses too; each waiter parks in a select on two channels, its ctx's and the call's, which costs roughly 100-160 ns more per waiter than a plain receive (the BatchWake rows) whether the call's channel is shared or the waiter's own, and x/sync's idiom pays the same select)
CtxWaiters/callers=64|xsync|0.65|-|64 ctx waiters vs DoChan+select (see 8 callers)
CtxWaiters/callers=1024|xsync|0.7|-|1024 ctx waiters vs DoChan+select (see 8 callers)
CtxWaiters/callers=8|lean|-|-|8 ctx waiters against lean: what flight's bookkeeping costs (no target)
CtxWaiters/callers=64|lean|-|-|64 ctx waiters against lean (no target)
CtxWaiters/callers=1024|lean|-|-|1024 ctx waiters against lean (no target)
Churn/waiters=64|xsync|0.7|-|64 waiters cancel while fn runs vs DoChan+select (where it misses: as for CtxWaiters, plus the cancellation of fn's context when the last waiter leaves, which neither x/sync nor lean does)
Churn/waiters=64|lean|-|-|64 waiters cancel while fn runs, against lean (no target)
DoChan/keys=distinct|xsync|1.0|5|DoChan, distinct keys (allocs and B/op at most x/sync's)|base
DoChan/keys=distinct|floor|-|-|DoChan against its floor: goroutine and buffered channel (no target)
BatchFull/callers=64|dataloadgen|1.0|64|Batch, full batches of 64 loads, vs dataloadgen (<= 1 alloc/key)|base
BatchFull/callers=64|dataloader|-|-|Batch, full batches of 64 loads, vs dataloader (no target)
BatchFull/callers=1024|dataloadgen|1.0|1024|Batch, full batches of 1024 loads, vs dataloadgen (<= 1 alloc/key)|base
BatchFull/callers=1024|dataloader|-|-|Batch, full batches of 1024 loads, vs dataloader (no target)
BatchWake/callers=64|recv|-|-|Batch floor: 64 waiters woken, select on own ctx (flight) vs plain receive (no target)
BatchWake/callers=1024|recv|-|-|Batch floor: 1024 waiters woken, select on own ctx (flight) vs plain receive (no target)
EOF
}

# pvalues prints "case<TAB>procs<TAB>impl<TAB>p<TAB>sig" from benchstat's sec/op
# table: the p-value of each implementation's difference from flight, and
# whether benchstat calls that difference significant (1) or not (0, shown as
# "~"). The verdict is benchstat's own (p <= alpha, before rounding), never
# re-derived from the rounded p printed beside it.
pvalues() {
	benchstat_cmd -format csv -col /impl "$out" 2>/dev/null | awk -F ',' -v OFS='\t' '
	/^,/ && !hdr { for (i = 2; i <= NF; i++) if ($i != "") impl[i] = $i; hdr = 1; next }
	/^,/ { next }
	# Read to the end rather than exit: an early exit would kill benchstat
	# with SIGPIPE, which pipefail turns into a failure of the whole script.
	hdr && $0 == "" { stop = 1 }
	stop { next }
	hdr && $1 != "geomean" {
		name = $1; procs = 1
		if (match(name, /-[0-9]+$/)) { procs = substr(name, RSTART + 1); name = substr(name, 1, RSTART - 1) }
		for (i in impl) if ($(i + 3) ~ /^p=/) {
			p = $(i + 3); sub(/^p=/, "", p); sub(/ .*/, "", p)
			print name, procs, impl[i], p, ($(i + 2) == "~" ? 0 : 1)
		}
	}'
}

ratio_table() {
	{ medians; echo "--"; pvalues | sed 's/^/P\t/'; echo "--"; targets; } | awk -F '\t' '
	function num(x) { return x >= 100 ? sprintf("%.0f", x) : sprintf("%.3g", x) }
	$0 == "--" { if (++sect == 2) FS = "|"; next }
	sect == 1 { pv[$2, $3, $4] = $5; sig[$2, $3, $4] = $6; next }
	sect == 0 {
		m[$1, $2, $3, $4] = $5
		if (!(($2) in seenp)) { seenp[$2] = 1; procs[++np] = $2 }
		next
	}
	{
		c = $1; base = $2; maxr = $3; maxa = $4; what = $5; maxb = $6
		for (k = 1; k <= np; k++) {
			P = procs[k]
			if (!((c, P, "flight", "ns/op") in m) || !((c, P, base, "ns/op") in m)) continue
			fns = m[c, P, "flight", "ns/op"]; bns = m[c, P, base, "ns/op"]
			fa = m[c, P, "flight", "allocs/op"]; ba = m[c, P, base, "allocs/op"]
			r = fns / bns
			ok = 1; why = ""
			pval = ((c, P, base) in pv) ? pv[c, P, base] : ""
			note = ""
			if (maxr != "-" && r > maxr + 1e-9) {
				# Any target of 1.0x or more means "no slower than the baseline",
				# so a difference benchstat does not call significant meets it:
				# a looser target is never harder to meet than 1.0x.
				if (maxr + 0 >= 1.0 && pval != "" && sig[c, P, base] == 0)
					note = " (not significantly slower)"
				else { ok = 0; why = sprintf("time %.2fx > %sx", r, maxr) }
			}
			atarget = "-"
			if (maxa == "joiner") {
				n = c; sub(/.*callers=/, "", n)
				start = m["Do/keys=distinct", P, "flight", "allocs/op"]
				pj = (fa - start) / (n - 1); if (pj < 0) pj = 0
				atarget = sprintf("%.2f/joiner (< 0.05)", pj)
				if (pj >= 0.05) { ok = 0; why = why (why ? "; " : "") sprintf("%.2f allocs per joiner", pj) }
			} else if (maxa != "-") {
				atarget = "<= " maxa
				if (fa > maxa + 1e-9) { ok = 0; why = why (why ? "; " : "") sprintf("%s allocs > %s", num(fa), maxa) }
			}
			if (maxb != "") {
				fb = m[c, P, "flight", "B/op"]
				bb = (maxb == "base") ? m[c, P, base, "B/op"] : maxb + 0
				atarget = atarget "; B/op <= " num(bb)
				if (fb > bb + 1e-9) { ok = 0; why = why (why ? "; " : "") sprintf("%s B/op > %s", num(fb), num(bb)) }
			}
			verdict = (maxr == "-" && maxa == "-") ? "-" : (ok ? "pass" note : "**miss**: " why)
			label = c (np > 1 ? " (P=" P ")" : "")
			net = "-"
			if ((c, P, "floor", "ns/op") in m) {
				fl = m[c, P, "floor", "ns/op"]
				if (bns > fl) net = sprintf("%.2fx", (fns - fl) / (bns - fl))
			}
			printf "| %s | %s | `%s` | %s | %s | **%.2fx** | %s | %s | %s | %s | %s | %s | %s |\n", what, label, base, \
				num(fns), num(bns), r, (pval == "" ? "-" : pval), net, (maxr == "-" ? "-" : "<= " maxr "x"), num(fa), num(ba), atarget, verdict
		}
	}'
}

# --- the document ---------------------------------------------------------------
write_doc() {
	cat <<'EOF'
# Performance

flightkit's costs are measured, not claimed: every number here comes from the benchmarks in
[`bench/group_bench_test.go`](../bench/group_bench_test.go), which run `flight.Group[string, int]`
and its peers in the same process, through one harness, and
[`bench/batch_bench_test.go`](../bench/batch_bench_test.go), which does the same for
`batch.Loader[int, int]` against dataloadgen and dataloader, and
[`bench/fleet_bench_test.go`](../bench/fleet_bench_test.go), which runs `flight/fleet` against a
hand-written Redis lock on a `redis-server` it starts (skipped without one). This file is
generated by [`scripts/perf.sh`](../scripts/perf.sh); edit the template in the script, not this
file.

## How to run

```sh
scripts/perf.sh                       # all benchmarks, 10 runs each, then regenerate this file
COUNT=6 scripts/perf.sh 'HotKey'      # a subset (a -bench regexp); benchstat needs >= 6 runs
COUNT=1 ROUNDS=8 scripts/perf.sh      # interleaved: 8 rounds of -count=1 (see below)
INPUT=bench/out/latest.txt scripts/perf.sh           # no run: regenerate from a saved one
scripts/perf.sh -check                               # does this file match docs/data/performance.txt?
go -C bench test -run='^$' -bench=. -benchtime=1x    # the CI smoke run: every case once
```

On a shared or busy machine prefer `ROUNDS`: with `-count=N` the N samples of one benchmark are
taken back to back, so whatever else runs during those seconds shifts all of them the same way and
benchstat reports the shift as significant (one such run showed flight 1.13x slower than x/sync with
64 context waiters; rounds of the same code gave 0.79x).

To compare two versions of flight, run the benchmarks back to back on one machine and use
`benchstat old.txt new.txt`; across machines or days the numbers do not compare.

## What is measured

Each implementation sits behind a small adapter (`bench/adapters_test.go`) that wraps the
benchmark's function once, when it is built, so no iteration pays for an adapter:

| `impl=` | what the adapter calls |
| --- | --- |
| `flight` | `Do`, `DoCtx`, `DoChan` of `flight.Group[string, int]` |
| `xsync` | `golang.org/x/sync/singleflight`: `Do` and `DoChan`; its context form is the idiom users write, `DoChan` then `select` on the channel and `ctx.Done()` |
| `xsync-do` | x/sync's `Do` in the context benchmarks: it ignores ctx and cannot detach, so it is the floor a context form is measured against |
| `resenje` | `resenje.org/singleflight`: `Do(ctx, …)`, with `context.Background()` where a plain `Do` is asked for |
| `tailscale` | `tailscale.com/util/singleflight`: `Do`, `DoChan`, and `DoChanContext` plus a `select` on `ctx.Done()` (its channel answers a cancelled last waiter only when the call ends) |
| `floor` | no implementation. In the crowd benchmarks every caller runs the function itself, so they measure the harness alone (its `extra-runs/op` is N-1 by construction). In `Do`, `DoCtx` and `DoChan` it is the least a singleflight must do for one call: a mutex, a map insert and delete and one allocation around a direct call (`Do`), plus a goroutine, a channel and a `select` on ctx (`DoCtx`), or a goroutine and a buffered channel alone (`DoChan`) |
| `lean` | in the context benchmarks (`DoCtx`, `CtxWaiters`, `Churn`): flight's design with every feature taken out, a reference for what flight's bookkeeping costs. A mutex and a map of calls; a call is a small struct and a channel, closed when fn returns, on which every caller waits in a `select` with its `ctx.Done()`; fn runs on a goroutine of its own with `context.Background()`. No statistics, no context of fn's own (fn is never cancelled when every caller has left), no panic handling |

| benchmark | one op is |
| --- | --- |
| `Do/keys=distinct` | one `Do` on a key nobody else wants: start and finish a call |
| `DoParallel/keys=distinct`, `keys=one` | `Do` from every P at once, on keys of its own or all on one key |
| `HotKey/callers=N` | N callers of `Do` released together against one key whose function returns only once all N have entered: one call and N-1 joiners. `ns/caller` is ns/op over N |
| `DoCtx/ctx=…` | one context-form call on a distinct key: `cancel` reuses one cancellable context, `background` passes `context.Background()` (its `Done()` is nil), `cancel-watched` is `cancel` with a function that reads its context's `Done()`, as any function doing I/O with it would |
| `CtxWaiters/callers=N` | `HotKey` through each context form, every caller with a cancellable context |
| `Churn/waiters=64` | 64 callers join one call; their context is cancelled, all of them return, then the function finishes (it waits for the harness or for its own context, so an implementation that cancels it when every waiter has left also pays for building that context) |
| `DoChan/keys=distinct` | one `DoChan` and a receive |
| `FnCtx/op=…` | what fn pays to use the context an implementation hands it, inside a call that stays running: `child` derives a cancellable child and cancels it, `afterfunc` registers a `context.AfterFunc` and stops it, `done` reads `Done()`, `value` looks up a value of the caller's (flight, resenje and tailscale; x/sync hands fn no context) |

How to read the crowd cases (`HotKey`, `CtxWaiters`, `Churn`):

- The callers are goroutines that live for the whole benchmark and are released by channel
  tokens, so a round allocates nothing of its own; `allocs/op` is the starter's allocations plus
  whatever the implementation allocates per joiner. Nothing sleeps: the function waits on a
  counter that the last caller to enter signals.
- A caller counts itself just before it calls in, so one still queued on the implementation's
  lock when the function returns starts a second, instant call. The function yields a little
  before returning to let such callers in; those that still miss are counted in
  `extra-runs/op` (ideally 0; a few per op at 1024 callers when each joiner holds the lock
  longer, as x/sync's `DoChan` does). benchstat prints this count with SI prefixes: `2.3m` is
  0.0023 extra runs per op.
- At 1024 callers a few allocations per op come from the runtime itself (its cache of
  wait-queue entries, sudogs, is emptied at each GC and refilled), for every implementation.
- `Churn` creates one cancellable context per op (about two allocations) and uses a new key per
  op; both costs are the same for every implementation.

The batch loaders (`batch.Loader`, `github.com/vikstrous/dataloadgen`,
`github.com/graph-gophers/dataloader/v7`) run with their caches off, the same window and batch
size, and the same fetch function, which builds a map of the keys it is given:

| benchmark | one op is |
| --- | --- |
| `BatchFull/callers=N` | N callers, each with a cancellable context of its own, released together, load one new key each; MaxBatch N and a 10 ms window, so every fetch is one full batch of N keys, dispatched because it is full. `B/key` and `allocs/key` are per loaded key; `impl=floor` is the harness alone |
| `BatchWake/callers=N` | no loader: N callers wait for one channel, closed once all have arrived; `impl=flight` waits as `Load` does (a `select` that also watches the caller's context), `impl=recv` in a plain receive, as the peers' callers do. The difference is what watching the caller's context costs per waiter |
| `BatchLoad/window=…` | 32 goroutines per CPU load new keys one at a time, batched by the loader (MaxBatch 100) |
| `BatchLoadMany/window=…` | one `LoadMany` of 100 new keys: one full batch per op |

Unlike the two peers, a `batch.Loader` waits for each key in a `select` on the caller's context as
well as on the batch, so that a caller can leave when its context ends, and it deduplicates keys
with a map; the peers, with their caches off, do neither.

The fleet benchmarks compare `fleet.Group[int]` (`impl=fleet`) with the lock most teams write by
hand (`impl=redis-lock-poll`: `GET`, then `SET NX PX`; the holder runs fn and stores the result,
the others poll `GET` every 50 ms), each group on its own client of one loopback `redis-server`:

| benchmark | one op is |
| --- | --- |
| `FleetLeader` | one call that leads on a new key, fn returning at once: what a call costs beyond fn. `rtt/op` counts Redis round trips (a pipeline is one); `impl=rtt` is one `PING`, the round trip every implementation pays |
| `FleetWakeup` | a follower in another group waits for a leader whose fn returns 5 to 55 ms after the follower asked; `p50-µs` and `p99-µs` are the time from fn's return to the follower having the value, `missed/op` the followers that did not get it from the leader. `impl=pubsub` is the floor of any push design: one `PUBLISH` to a follower blocked on its subscription |
EOF
	echo
	echo "## Last run"
	echo
	echo "| | |"
	echo "| --- | --- |"
	echo "| date | $(metaval date) |"
	echo "| machine | $(metaval nproc) CPUs, $(metaval cpu) (\`$(sed -n '/^cpu: /{s/^cpu: //;s/[[:space:]]*$//p;q}' "$out")\` as Go reports it) |"
	echo "| OS | $(metaval kernel) |"
	echo "| Go | $(metaval go) |"
	echo "| flight at | $(metaval flight) |"
	echo "| command | \`$(metaval command)\` |"
	echo "| benchstat | \`benchstat -col /impl $DATA.txt\` |"
	echo
	echo "## flight against x/sync"
	echo
	cat <<'EOF'
Medians of the run above. The ratio is flight's ns/op over the baseline's (`xsync-do`: x/sync's
plain `Do`; `xsync`: x/sync's own form of the same operation); `p` is benchstat's p-value for
that difference. benchstat calls a difference significant when p <= 0.05 (its `-alpha`), and
shows `~` in its own table below when it is not; a target of 1.0x or more counts as met when
flight is not significantly slower by that rule (so a looser target is never harder to meet than
1.0x). `net of floor` is the same ratio after subtracting
`impl=floor`, the harness alone, from both: what each implementation adds on top of waking the
callers. The targets are flightkit's performance goals, one per row, kept with the script that generates this
page (`scripts/perf.sh`); they apply to the ratio, not to the net ratio.
EOF
	echo
	echo "| case | benchmark | baseline | flight ns/op | baseline ns/op | ratio | p | net of floor | target | flight allocs/op | baseline allocs/op | alloc target | result |"
	echo "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | --- | --- |"
	ratio_table
	echo
	echo "## benchstat"
	echo
	echo "Columns are implementations; deltas are against \`flight\`, the first column."
	echo
	echo '```text'
	benchstat_cmd -col /impl "$out" | sed 's/[[:space:]]*$//'
	echo '```'
}

tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
write_doc >"$tmp"
if [ -n "$CHECK" ]; then
	if ! diff -u "$DOC" "$tmp" >&2; then
		echo "perf.sh: $DOC is not what $DATA.txt gives (above: - the file, + the data); regenerate both with scripts/perf.sh, or the doc alone with INPUT=$DATA.txt scripts/perf.sh" >&2
		exit 1
	fi
	echo "$DOC matches $DATA.txt" >&2
	exit 0
fi
cp "$tmp" "$DOC" # not mv: the doc keeps its mode, not mktemp's 0600
# The doc and the data it shows are committed together.
mkdir -p "$(dirname "$DATA")"
[ "$out" -ef "$DATA.txt" ] || cp "$out" "$DATA.txt"
if [ -f "$meta" ] && ! [ "$meta" -ef "$DATA.meta" ]; then cp "$meta" "$DATA.meta"; fi
echo "wrote $DOC and its data, $DATA.txt and $DATA.meta, from $out" >&2
