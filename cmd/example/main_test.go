package main

import (
	"os"
	"strings"
	"testing"
)

// README.md quotes this program verbatim, from its package clause on.
func TestREADMEQuotesTheExample(t *testing.T) {
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	body := string(src[strings.Index(string(src), "package main"):])
	if !strings.Contains(string(readme), "```go\n"+body+"```\n") {
		t.Error("README.md does not quote cmd/example/main.go verbatim (from `package main` on, in a go code block)")
	}
}
