package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// smokeArgs is the kind of short run CI can afford.
var smokeArgs = []string{"-duration", "200ms", "-clients", "20", "-ttl", "100ms", "-schemes", "none,flight", "-rounds", "2", "-quiet"}

func runArgs(t *testing.T, args ...string) (stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	if code := run(args, &out, &errb); code != 0 {
		t.Fatalf("run(%q) = %d, stderr:\n%s", args, code, errb.String())
	}
	return out.String(), errb.String()
}

// checkTable checks a table of the two smoke schemes.
func checkTable(t *testing.T, out string) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 8 || !strings.HasPrefix(lines[0], "stampede -duration 200ms") ||
		!strings.Contains(lines[2], "2 round(s)") || !strings.Contains(lines[3], "(min-max)") || !strings.Contains(lines[5], "calls/TTL") ||
		!strings.HasPrefix(strings.TrimSpace(lines[6]), "none ") || !strings.HasPrefix(strings.TrimSpace(lines[7]), "flight ") {
		t.Errorf("table:\n%s\nwant the command, the settings, the rounds, a note, a blank line, column names and one row per scheme", out)
	}
}

func TestRunTable(t *testing.T) {
	out, _ := runArgs(t, smokeArgs...)
	checkTable(t, out)
}

// TestRunJSON checks -json, and that -from prints the table of a saved
// report: the docs are generated that way from committed reports.
func TestRunJSON(t *testing.T) {
	out, _ := runArgs(t, append(smokeArgs, "-json", "-procs", "2")...)
	var rep report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("-json output does not decode: %v\n%s", err, out)
	}
	if rep.Config.Procs != 2 || rep.Config.DurationMS != 200 || len(rep.Schemes) != 2 || rep.Schemes[0].Scheme != "none" ||
		len(rep.Schemes[1].Rounds) != 2 || rep.Schemes[1].Rounds[1].Seed != 2 || rep.Schemes[1].Rounds[0].Requests == 0 ||
		len(rep.Schemes[1].Load) == 0 || len(rep.Schemes[1].CCDF) == 0 || rep.Machine.CPUs == 0 ||
		strings.Contains(rep.Command, "json") || strings.Contains(rep.Command, "quiet") {
		t.Errorf("-json output: %+v", rep)
	}

	path := filepath.Join(t.TempDir(), "run.json")
	if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	table, _ := runArgs(t, "-from", path)
	checkTable(t, table)
	again, _ := runArgs(t, "-from", path)
	if again != table {
		t.Errorf("-from printed two different tables from one report:\n%s\n%s", table, again)
	}
}

func TestUserPath(t *testing.T) {
	root := t.TempDir()
	sub := filepath.Join(root, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(sub) // as `go -C sub` does: PWD still names root
	t.Setenv("PWD", root)
	if got, want := userPath("out/x.json"), filepath.Join(root, "out/x.json"); got != want {
		t.Errorf("after a chdir that left PWD behind: %q, want %q", got, want)
	}
	if got := userPath("/abs/x.json"); got != "/abs/x.json" {
		t.Errorf("absolute path changed to %q", got)
	}
	t.Setenv("PWD", sub)
	if got := userPath("x.json"); got != "x.json" {
		t.Errorf("PWD is the working directory: %q, want the path as given", got)
	}
}

func TestRunBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-schemes", "none,bogus"},
		{"-clients", "0"},
		{"-procs", "5", "-clients", "4"},
		{"-rounds", "0"},
		{"-stall-prob", "1.5"},
		{"-call-timeout", "-1s"},
		{"-duration", "-1s"},
		{"extra"},
	} {
		var out, errb bytes.Buffer
		if code := run(args, &out, &errb); code != 2 || errb.Len() == 0 || out.Len() != 0 {
			t.Errorf("run(%q) = %d, stdout %q, stderr %q; want 2 and a message on stderr", args, code, out.String(), errb.String())
		}
	}
	var out, errb bytes.Buffer
	if code := run([]string{"-from", filepath.Join(t.TempDir(), "missing.json")}, &out, &errb); code != 1 || errb.Len() == 0 {
		t.Errorf("-from a missing file: code %d, stderr %q; want 1 and a message", code, errb.String())
	}
	errb.Reset()
	if code := run([]string{"-h"}, &out, &errb); code != 0 || !strings.Contains(errb.String(), "-stall-prob") {
		t.Errorf("-h: code %d, stderr %q; want 0 and the flag list", code, errb.String())
	}
}

// TestConfigJSON checks that a report records every knob of the run (all
// but -redis, the address of a server that is gone when the report is
// read): its config converts back to the one that ran.
func TestConfigJSON(t *testing.T) {
	cfg := defaultConfig()
	cfg.StallProb, cfg.CallTimeout, cfg.Hedge = 0.2, 300*time.Millisecond, 20*time.Millisecond
	b, err := json.Marshal(toJSON(cfg))
	if err != nil {
		t.Fatal(err)
	}
	var j jsonConfig
	if err := json.Unmarshal(b, &j); err != nil {
		t.Fatal(err)
	}
	if got := j.config(); !reflect.DeepEqual(got, cfg) {
		t.Errorf("config after a JSON round trip:\n%+v\nwant\n%+v", got, cfg)
	}
}
