package main

import (
	"bytes"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// smokeArgs is the kind of short run CI can afford.
var smokeArgs = []string{"-duration", "200ms", "-clients", "20", "-ttl", "100ms", "-schemes", "none,flight", "-quiet"}

func runArgs(t *testing.T, args ...string) (stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	if code := run(args, &out, &errb); code != 0 {
		t.Fatalf("run(%q) = %d, stderr:\n%s", args, code, errb.String())
	}
	return out.String(), errb.String()
}

func TestRunTable(t *testing.T) {
	out, _ := runArgs(t, smokeArgs...)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 5 || !strings.Contains(lines[2], "calls/expiry") ||
		!strings.HasPrefix(strings.TrimSpace(lines[3]), "none ") || !strings.HasPrefix(strings.TrimSpace(lines[4]), "flight ") {
		t.Errorf("table:\n%s\nwant a header line, a blank line, column names and one row per scheme", out)
	}
}

func TestRunJSON(t *testing.T) {
	out, _ := runArgs(t, append(smokeArgs, "-json", "-procs", "2")...)
	var rep report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("-json output does not decode: %v\n%s", err, out)
	}
	if rep.Config.Procs != 2 || rep.Config.DurationMS != 200 || len(rep.Results) != 2 ||
		rep.Results[0].Scheme != "none" || rep.Results[1].Requests == 0 {
		t.Errorf("-json output: %+v", rep)
	}
}

func TestRunPlots(t *testing.T) {
	dir := t.TempDir()
	_, stderr := runArgs(t, append(smokeArgs, "-plot", dir)...)
	for _, name := range []string{"stampede-load.png", "stampede-latency.png"} {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("%v (stderr: %s)", err, stderr)
		}
		cfg, err := png.DecodeConfig(f)
		f.Close()
		if err != nil || cfg.Width < 200 || cfg.Height < 200 {
			t.Errorf("%s: %dx%d, %v; want a readable picture", name, cfg.Width, cfg.Height, err)
		}
	}
	runArgs(t, append(smokeArgs, "-plot", dir, "-plot-format", "svg", "-plot-name", "x", "-schemes", "flight")...)
	svg, err := os.ReadFile(filepath.Join(dir, "x-load.svg"))
	if err != nil || !bytes.Contains(svg, []byte("<svg")) {
		t.Errorf("x-load.svg: %v, want an SVG document", err)
	}
}

func TestRunBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-schemes", "none,bogus"},
		{"-clients", "0"},
		{"-procs", "5", "-clients", "4"},
		{"-plot-format", "gif"},
		{"-duration", "-1s"},
		{"extra"},
	} {
		var out, errb bytes.Buffer
		if code := run(args, &out, &errb); code != 2 || errb.Len() == 0 || out.Len() != 0 {
			t.Errorf("run(%q) = %d, stdout %q, stderr %q; want 2 and a message on stderr", args, code, out.String(), errb.String())
		}
	}
	var out, errb bytes.Buffer
	if code := run([]string{"-h"}, &out, &errb); code != 0 || !strings.Contains(errb.String(), "-deadline") {
		t.Errorf("-h: code %d, stderr %q; want 0 and the flag list", code, errb.String())
	}
}
