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
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		// The first signal stops the work, which then writes nothing and
		// exits; a second one exits at once (a temporary file it leaves is
		// removed by the next write to the same place).
		s := <-sigs
		cancel(interrupted{s})
		s = <-sigs
		fmt.Fprintln(os.Stderr, "relunet: interrupted again: exiting at once")
		os.Exit(interrupted{s}.code())
	}()
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	os.Exit(code)
}

// interrupted is the cause of a run's context when a signal stopped it.
type interrupted struct{ sig os.Signal }

func (e interrupted) Error() string { return "interrupted" }

// code returns the exit status of a process stopped by the signal: 128 plus
// its number, as shells report it (130 for SIGINT, 143 for SIGTERM).
func (e interrupted) code() int {
	if s, ok := e.sig.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return 130
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
// success, 2 on a usage error (with the usage text), 130 or 143 when a
// SIGINT or SIGTERM stopped it (with "interrupted"), 1 on any other
// failure (with one line on standard error). A panic, which is a bug, is a
// failure too, so that 2 always means a usage error.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) (code int) {
	defer func() {
		if p := recover(); p != nil {
			fmt.Fprintf(stderr, "relunet: internal error (a bug; please report it): %v\n", p)
			code = 1
		}
	}()
	err := dispatch(ctx, args, stdout, stderr)
	var ue *usageError
	var help errHelp
	var sig interrupted
	// A signal that came after the work was done (its results written, say)
	// stopped nothing: the exit says what happened.
	if cause := context.Cause(ctx); err != nil && ctx.Err() != nil && errors.As(cause, &sig) {
		fmt.Fprintln(stderr, "relunet: interrupted")
		return sig.code()
	}
	switch {
	case err == nil:
		return 0
	case errors.As(err, &help):
		fmt.Fprint(stdout, usage, help.text)
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "relunet: %s\n\n%s%s", ue.msg, usage, ue.flags)
		return 2
	case errors.Is(err, errReported):
		return 1
	default:
		fmt.Fprintf(stderr, "relunet: %s\n", oneLine(err))
		return 1
	}
}

// errReported is a failure already told on standard output or error.
var errReported = errors.New("failure already reported")

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
