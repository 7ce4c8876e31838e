package main

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// report.json is the -json output of a short simulator run:
// stampede -duration 300ms -clients 20 -ttl 100ms -schemes none,flight,stale-refresh -rounds 2
const sample = "testdata/report.json"

func runPlot(t *testing.T, stdin string, args ...string) (code int, stderr string) {
	t.Helper()
	var errb bytes.Buffer
	code = run(args, strings.NewReader(stdin), &errb)
	return code, errb.String()
}

func TestPlotPNG(t *testing.T) {
	dir := t.TempDir()
	code, stderr := runPlot(t, "", "-dir", dir, sample)
	if code != 0 {
		t.Fatalf("plot: code %d, stderr:\n%s", code, stderr)
	}
	for _, name := range []string{"stampede-load.png", "stampede-latency.png"} {
		path := filepath.Join(dir, name)
		if !strings.Contains(stderr, "wrote "+path+"\n") {
			t.Errorf("stderr %q does not name %s", stderr, path)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := png.DecodeConfig(f)
		f.Close()
		if err != nil || cfg.Width < 200 || cfg.Height < 200 {
			t.Errorf("%s: %dx%d, %v; want a readable picture", name, cfg.Width, cfg.Height, err)
		}
	}
}

// TestPlotStdinSVG reads the report from standard input, as in
// `stampede -json | plot`, and writes SVG under another name.
func TestPlotStdinSVG(t *testing.T) {
	in, err := os.ReadFile(sample)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if code, stderr := runPlot(t, string(in), "-dir", dir, "-name", "x", "-format", "svg"); code != 0 {
		t.Fatalf("plot: code %d, stderr:\n%s", code, stderr)
	}
	svg, err := os.ReadFile(filepath.Join(dir, "x-latency.svg"))
	if err != nil || !bytes.Contains(svg, []byte("<svg")) || !bytes.Contains(svg, []byte("stale-refresh")) {
		t.Errorf("x-latency.svg: %v, want an SVG document with a legend", err)
	}
}

// TestPlotRelativeDir checks that a relative -dir is taken from where the
// command was started, as `go -C` leaves it in $PWD.
func TestPlotRelativeDir(t *testing.T) {
	abs, err := filepath.Abs(sample)
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	sub := filepath.Join(root, "module")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(sub)
	t.Setenv("PWD", root)
	if code, stderr := runPlot(t, "", "-dir", "img", abs); code != 0 {
		t.Fatalf("plot: code %d, stderr:\n%s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(root, "img", "stampede-load.png")); err != nil {
		t.Errorf("plot wrote elsewhere than the user's directory: %v", err)
	}
}

func TestPlotBadInput(t *testing.T) {
	for _, c := range []struct {
		stdin string
		args  []string
		code  int
	}{
		{"", []string{"-format", "gif", sample}, 2},
		{"", []string{sample, sample}, 2},
		{"", []string{"-bogus"}, 2},
		{"", []string{filepath.Join(t.TempDir(), "missing.json")}, 1},
		{"not json", nil, 1},
		{`{"schemes": []}`, nil, 1},
	} {
		if code, stderr := runPlot(t, c.stdin, append([]string{"-dir", t.TempDir()}, c.args...)...); code != c.code || stderr == "" {
			t.Errorf("plot %q with stdin %q: code %d, stderr %q; want %d and a message", c.args, c.stdin, code, stderr, c.code)
		}
	}
}
