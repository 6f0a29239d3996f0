package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

const usage = `usage:
  relunet train   -data NAME|FILE.csv [-target K] -hidden H -method analytic|sgd|adam|lbfgs
                  [-iters N] [-epochs N] [-seed S] [-alpha A] [-ridge L] [-safeguard] [-test 0.2] [-json]
  relunet compare -data NAME|FILE.csv -hidden H -runs R [-methods analytic,sgd,adam,lbfgs] [-out DIR] [-json]
  relunet data list
  relunet data fetch NAME

NAME: abalone, bike, sdf (reference sets, looked up in $RELUNET_DATA, then in the
cache directory, fetched there on first use) or sin, sinx2, teacher, shape-sdf
(synthetic). FILE.csv: a numeric CSV; the target is its last column unless -target K.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// usageError is a mistake in the command line: exit status 2 with the usage text.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// run executes the command line args and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	err := dispatch(args, stdout, stderr)
	var ue *usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errHelp):
		fmt.Fprint(stdout, usage)
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "relunet: %s\n\n%s", ue.msg, usage)
		return 2
	default:
		fmt.Fprintf(stderr, "relunet: %s\n", strings.ReplaceAll(strings.TrimPrefix(err.Error(), "relunet: "), "\n", " "))
		return 1
	}
}

var errHelp = errors.New("help")

func dispatch(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usagef("no command")
	}
	switch args[0] {
	case "train":
		return train(args[1:], stdout, stderr)
	case "compare":
		return compare(args[1:], stdout, stderr)
	case "data":
		return data(args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		return errHelp
	}
	return usagef("unknown command %q", args[0])
}
