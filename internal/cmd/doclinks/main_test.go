package main

import (
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestCheck(t *testing.T) {
	var out strings.Builder
	n, err := check("testdata/repo", &out)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"README.md:4: https://example.com/x: links outside the repository",
		"README.md:4: https://example.com/auto: links outside the repository",
		"README.md:4: http://example.com/bare: links outside the repository",
		"README.md:5: ../../outside.md: leaves the repository",
		"README.md:5: /etc/passwd: absolute path: link relative to the file instead",
		"README.md:5: docs/missing.md: no such file in the repository",
		"README.md:5: mailto:a@b.c: links outside the repository",
		"README.md:7: https://in-span.example.com: links outside the repository",
		"README.md:13: https://example.com/ref: links outside the repository",
	}
	got := strings.Split(strings.TrimSpace(out.String()), "\n")
	if n != len(want) || strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("check reported %d:\n%s\nwant %d:\n%s", n, out.String(), len(want), strings.Join(want, "\n"))
	}
}

// TestRepository runs the check on the repository itself, so that go test
// fails as CI does when a doc links outside it.
func TestRepository(t *testing.T) {
	var out strings.Builder
	n, err := check("../../..", &out)
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d bad link(s) in the repository's docs:\n%s", n, out.String())
	}
}
