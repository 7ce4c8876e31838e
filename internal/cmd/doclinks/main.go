// Command doclinks checks that the Markdown files of the repository link
// only to files inside it: docs must stand alone, so a link to the web, to
// an absolute path or to a file above the repository root is an error, and
// so is a relative link to a file that does not exist. Code (fenced blocks
// and inline spans) is not checked. CI runs it from the repository root:
//
//	go run ./internal/cmd/doclinks [root]
//
// It prints one line per bad link, file:line: target: why, and exits 1 when
// there is any.
package main

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

func main() {
	root := "."
	if len(os.Args) > 1 {
		root = os.Args[1]
	}
	n, err := check(root, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "doclinks:", err)
		os.Exit(2)
	}
	if n > 0 {
		fmt.Fprintf(os.Stderr, "doclinks: %d link(s) leave the repository or point nowhere\n", n)
		os.Exit(1)
	}
}

// check walks root for Markdown files and reports each bad link to w. It
// returns how many it reported.
func check(root string, w io.Writer) (int, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return 0, err
	}
	bad := 0
	err = filepath.WalkDir(abs, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != abs && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".md") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(abs, path)
		rel = filepath.ToSlash(rel)
		for _, p := range problems(abs, path, string(src)) {
			fmt.Fprintf(w, "%s:%d: %s: %s\n", rel, p.line, p.target, p.why)
			bad++
		}
		return nil
	})
	return bad, err
}

type problem struct {
	line   int
	target string
	why    string
}

var (
	// [text](target "title") and ![alt](target), the target up to a space
	// or the closing parenthesis, optionally in angle brackets.
	inlineLink = regexp.MustCompile(`\]\(\s*<?([^)\s>]*)>?`)
	// [label]: target
	refLink = regexp.MustCompile(`^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(\s|$)`)
	// <https://...> and bare URLs, which renderers turn into links.
	autoLink = regexp.MustCompile(`(?i)\b(?:https?|ftp|file|mailto):[^\s<>()\]]+`)
	// a scheme such as http: or mailto: at the start of a target.
	scheme = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*:`)
	// inline code spans, which are text, not links.
	codeSpan = regexp.MustCompile("`+[^`]*`+")
)

// problems returns the bad links of one Markdown file at path, in a
// repository rooted at root.
func problems(root, path, src string) []problem {
	var out []problem
	fence := ""
	for i, line := range strings.Split(src, "\n") {
		trimmed := strings.TrimSpace(line)
		if fence != "" {
			if strings.HasPrefix(trimmed, fence) {
				fence = ""
			}
			continue
		}
		if strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~") {
			fence = trimmed[:3]
			continue
		}
		text := codeSpan.ReplaceAllString(line, "``")
		seen := map[string]bool{}
		report := func(target, why string) {
			if !seen[target] {
				seen[target] = true
				out = append(out, problem{i + 1, target, why})
			}
		}
		var targets []string
		for _, m := range inlineLink.FindAllStringSubmatch(text, -1) {
			targets = append(targets, m[1])
		}
		if m := refLink.FindStringSubmatch(text); m != nil {
			targets = append(targets, m[1])
		}
		for _, t := range targets {
			if why := judge(root, path, t); why != "" {
				report(t, why)
			}
		}
		for _, u := range autoLink.FindAllString(text, -1) {
			report(u, "links outside the repository")
		}
	}
	return out
}

// judge returns why target, linked from the file at path, is not allowed,
// or "" when it names a file or directory inside root.
func judge(root, path, target string) string {
	if target == "" {
		return "empty link"
	}
	if scheme.MatchString(target) || strings.HasPrefix(target, "//") {
		return "links outside the repository"
	}
	file, _, _ := strings.Cut(target, "#")
	if file == "" {
		return "" // an anchor in the same file
	}
	if strings.HasPrefix(file, "/") {
		return "absolute path: link relative to the file instead"
	}
	dest := filepath.Join(filepath.Dir(path), filepath.FromSlash(file))
	if rel, err := filepath.Rel(root, dest); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "leaves the repository"
	}
	if _, err := os.Stat(dest); err != nil {
		return "no such file in the repository"
	}
	return ""
}
