#!/usr/bin/env bash
# check-docs.sh checks the docs: no Markdown file links outside the
# repository (docs stand alone), and every generated doc is what its
# generator makes from the data committed beside it in docs/data/:
# docs/performance.md (scripts/perf.sh) and the tables of docs/stampede.md
# (scripts/stampede.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
fail=0
go run ./internal/cmd/doclinks . || fail=1
bash scripts/perf.sh -check || fail=1
bash scripts/stampede.sh -check || fail=1
exit "$fail"
