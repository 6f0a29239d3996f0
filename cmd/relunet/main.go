package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

const usage = `usage:
  relunet train   -data NAME|FILE [flags]         train one network, print its metrics
  relunet compare -data NAME|FILE [flags]         compare methods over seeded splits
  relunet data list                               the data sets and where they are
  relunet data fetch NAME... | all                download reference sets into the cache (all: but year)

NAME: a reference set (abalone, bike, sdf, patches, year: looked up in
$RELUNET_DATA, then in the cache, fetched there on first use) or a synthetic one
(sin, sinx2, teacher, shape-sdf, yearlike). FILE: a numeric CSV (FILE.csv; the
target is its last column unless -target K), or a PNG or JPEG image cut into
noisy patches (inputs) and clean ones (targets), as patches is.
'relunet train -h' and 'relunet compare -h' list their flags with their defaults.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// usageError is a mistake in the command line: exit status 2 with the usage text.
type usageError struct {
	msg   string
	flags string // the command's flags, when the mistake is in them
}

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// errHelp asks for the help text, with the command's flags.
type errHelp struct{ text string }

func (e errHelp) Error() string { return "help" }

// run executes the command line args and returns the exit status: 0 on
// success, 2 on a usage error (with the usage text), 1 on any other failure
// (with one line on standard error).
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	err := dispatch(ctx, args, stdout, stderr)
	var ue *usageError
	var help errHelp
	switch {
	case err == nil:
		return 0
	case errors.As(err, &help):
		fmt.Fprint(stdout, usage, help.text)
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "relunet: %s\n\n%s%s", ue.msg, usage, ue.flags)
		return 2
	default:
		fmt.Fprintf(stderr, "relunet: %s\n", oneLine(err))
		return 1
	}
}

// oneLine returns the error's text on one line, without the packages'
// prefixes.
func oneLine(err error) string {
	s := err.Error()
	for _, p := range []string{"relunet: ", "data: ", "experiment: "} {
		s = strings.TrimPrefix(s, p)
		s = strings.ReplaceAll(s, ": "+p, ": ")
	}
	return strings.ReplaceAll(s, "\n", " ")
}

func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usagef("no command")
	}
	switch args[0] {
	case "train":
		return train(ctx, args[1:], stdout, stderr)
	case "compare":
		return compare(ctx, args[1:], stdout, stderr)
	case "data":
		return dataCmd(ctx, args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		return errHelp{}
	}
	return usagef("unknown command %q", args[0])
}
