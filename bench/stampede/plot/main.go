// Command plot draws the pictures of a stampede simulator run: the backend
// load over time, one panel per scheme, and the client latency of every
// scheme on one log-log chart. It reads the report that
// `stampede -json` prints, from files or from standard input, and is a
// module of its own so that the simulator never downloads the plotting
// library, its fonts and its PDF and LaTeX backends.
//
// Usage:
//
//	go -C bench/stampede run . -json > run.json
//	go -C bench/stampede/plot run . -dir docs/img -name stampede run.json
//	go -C bench/stampede run . -json | go -C bench/stampede/plot run . -dir out
//
// It writes <dir>/<name>-load.<format> and <dir>/<name>-latency.<format>
// and prints their paths. Relative paths are taken from the directory the
// command was started from, also under `go -C`.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stderr))
}

// run is the whole command, for main and for tests. It returns the exit
// code.
func run(args []string, stdin io.Reader, stderr io.Writer) int {
	fs := flag.NewFlagSet("plot", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: plot [flags] [report.json]   (stdin when no file is named)")
		fs.PrintDefaults()
	}
	dir := fs.String("dir", ".", "directory to write the plots to (created if missing)")
	name := fs.String("name", "stampede", "file name prefix: writes <name>-load and <name>-latency")
	format := fs.String("format", "png", "png or svg")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *format != "png" && *format != "svg" {
		fmt.Fprintf(stderr, "plot: -format must be png or svg, not %q\n", *format)
		return 2
	}
	if fs.NArg() > 1 {
		fmt.Fprintf(stderr, "plot: one report at a time, got %q\n", fs.Args())
		return 2
	}
	in, src := stdin, "standard input"
	if fs.NArg() == 1 {
		src = userPath(fs.Arg(0))
		f, err := os.Open(src)
		if err != nil {
			fmt.Fprintln(stderr, "plot:", err)
			return 1
		}
		defer f.Close()
		in = f
	}
	var rep report
	if err := json.NewDecoder(in).Decode(&rep); err != nil {
		fmt.Fprintf(stderr, "plot: %s: not a report of stampede -json: %v\n", src, err)
		return 1
	}
	if len(rep.Schemes) == 0 {
		fmt.Fprintf(stderr, "plot: %s: the report has no schemes\n", src)
		return 1
	}
	paths, err := writePlots(userPath(*dir), *name, *format, rep)
	for _, p := range paths {
		if abs, err := filepath.Abs(p); err == nil {
			p = abs
		}
		fmt.Fprintln(stderr, "wrote", p)
	}
	if err != nil {
		fmt.Fprintln(stderr, "plot:", err)
		return 1
	}
	return 0
}

// report is the part of `stampede -json` that the plots use.
type report struct {
	Config struct {
		DurationMS float64 `json:"duration_ms"`
		DeadlineMS float64 `json:"deadline_ms"`
		BucketMS   float64 `json:"bucket_ms"`
	} `json:"config"`
	Schemes []struct {
		Scheme string `json:"scheme"`
		Rounds []struct {
			BackendCalls    int64 `json:"backend_calls"`
			PeakConcurrency int   `json:"peak_concurrency"`
		} `json:"rounds"`
		Load []int        `json:"load"`
		CCDF [][2]float64 `json:"latency_ccdf"`
	} `json:"schemes"`
}

// userPath resolves a relative path against the directory the user ran the
// command from: `go -C dir run .` changes to dir before it starts the
// program but leaves the shell's $PWD as it was.
func userPath(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	if base := os.Getenv("PWD"); filepath.IsAbs(base) {
		st, err1 := os.Stat(base)
		here, err2 := os.Stat(".")
		if err1 == nil && err2 == nil && st.IsDir() && !os.SameFile(st, here) {
			return filepath.Join(base, p)
		}
	}
	return p
}
