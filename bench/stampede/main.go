package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is the whole command, for main and for tests: it parses args, runs
// the simulation, and writes the results to stdout and progress and
// diagnostics to stderr. It returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("stampede", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg, opts, err := parseFlags(args, fs)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "stampede:", err)
		return 2
	}
	var progress io.Writer
	if !opts.quiet && isTerminal(stderr) {
		progress = stderr
	}
	began := time.Now()
	results := simulate(cfg, progress)
	if opts.json {
		err = writeJSON(stdout, cfg, results)
	} else {
		err = writeTable(stdout, cfg, results)
	}
	if err == nil && opts.plotDir != "" {
		var paths []string
		paths, err = writePlots(opts.plotDir, opts.plotName, opts.plotExt, cfg, results)
		for _, p := range paths {
			fmt.Fprintln(stderr, "wrote", p)
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, "stampede:", err)
		return 1
	}
	if !opts.quiet {
		fmt.Fprintf(stderr, "ran %d scheme(s) in %.1fs\n", len(results), time.Since(began).Seconds())
	}
	return 0
}

// isTerminal reports whether w is a terminal, where a progress line that
// redraws itself reads well. In a log file or a pipe it would be clutter.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
