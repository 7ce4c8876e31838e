package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
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
	if opts.from != "" {
		rep, err := readReport(userPath(opts.from))
		if err == nil {
			err = writeTable(stdout, rep)
		}
		if err != nil {
			fmt.Fprintln(stderr, "stampede:", err)
			return 1
		}
		return 0
	}
	rep := report{Command: command(args), Machine: thisMachine(), Config: toJSON(cfg)}
	if rep.Machine.busy() && !opts.quiet {
		fmt.Fprintf(stderr, "stampede: load average %.2f on %d CPUs: other work competes with the simulation, so expect a wider spread between rounds\n",
			rep.Machine.LoadAvg, rep.Machine.CPUs)
	}
	var progress io.Writer
	if !opts.quiet && isTerminal(stderr) {
		progress = stderr
	}
	began := time.Now()
	rep.Schemes = simulate(cfg, progress)
	if opts.json {
		err = writeJSON(stdout, rep)
	} else {
		err = writeTable(stdout, rep)
	}
	if err != nil {
		fmt.Fprintln(stderr, "stampede:", err)
		return 1
	}
	if !opts.quiet {
		fmt.Fprintf(stderr, "ran %d scheme(s), %d round(s) each, in %.1fs\n", len(rep.Schemes), cfg.Rounds, time.Since(began).Seconds())
	}
	return 0
}

// command returns the command line that produced a report, without the
// flags that only choose the output.
func command(args []string) string {
	kept := slices.DeleteFunc(slices.Clone(args), func(a string) bool {
		switch strings.TrimLeft(a, "-") {
		case "json", "json=true", "quiet", "quiet=true":
			return true
		}
		return false
	})
	return strings.Join(append([]string{"stampede"}, kept...), " ")
}

// userPath resolves a relative path against the directory the user ran the
// command from. `go -C dir run .` changes to dir before it starts the
// program but leaves the shell's $PWD as it was, so a relative path given on
// the command line would otherwise be taken from dir, not from where the
// user stands.
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
