package main

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// FuzzFlags parses arbitrary command lines of train and compare: every one
// is accepted or refused with a usage error (or a request for help), never
// a panic; an accepted one has a valid configuration.
func FuzzFlags(f *testing.F) {
	for _, args := range []string{
		"-data\x00sin",
		"-data\x00sin\x00-method\x00sgd\x00-lr\x001e-3\x00-batch\x0064\x00-epochs\x005",
		"-data\x00x.csv\x00-target\x000",
		"-data\x00abalone\x00-hidden\x00-3\x00-alpha\x001",
		"-data\x00sin\x00-ridge\x00NaN\x00-test\x001",
		"-data\x00sin\x00-methods\x00analytic+safeguard,lbfgs\x00-runs\x002\x00-iters\x007",
		"-data\x00sin\x00-methods\x00sgd+safeguard",
		"-h",
		"-data=sin\x00-scale-targets\x00-seed\x0018446744073709551615",
		// Huge integers and tiny floats, where sizes overflow or round to nothing.
		"-data\x00sin\x00-hidden\x009223372036854775807\x00-iters\x009223372036854775807",
		"-data\x00sin\x00-runs\x0099999999999999\x00-methods\x00analytic,adam",
		"-data\x00sin\x00-budget\x001e-300\x00-memory\x000.1B",
		"-data\x00sin\x00-memory\x009e18TiB\x00-lr\x005e-324",
		"-data\x00patches\x00-patch\x001099511627776\x00-stride\x001\x00-noise\x001e308",
		"-data\x00sin\x00-methods\x00analytic+restarts=9223372036854775807+parallel=9223372036854775807\x00-budget\x001",
		"-data\x00sin\x00-methods\x00analytic+polish=lbfgs+polish=lm",
	} {
		f.Add(args)
	}
	f.Fuzz(func(t *testing.T, line string) {
		args := strings.Split(line, "\x00")
		check := func(err error) {
			var ue *usageError
			var help errHelp
			if err != nil && !errors.As(err, &ue) && !errors.As(err, &help) {
				t.Fatalf("%q: not a usage error: %v", args, err)
			}
		}
		c, cfg, err := parseTrain(args)
		check(err)
		if err == nil {
			if c.data == "" || cfg.Hidden <= 0 || !(cfg.Alpha >= 0 && cfg.Alpha < 1) || cfg.Iterations < 0 ||
				(c.set["budget"] && cfg.Budget < time.Millisecond) || (c.set["memory"] && cfg.MemoryLimit < 1) {
				t.Fatalf("%q: accepted %+v", args, cfg)
			}
			if _, err := cfg.Solver(context.Background(), nil, nil); err == nil {
				t.Fatalf("%q: a solver without data", args)
			}
		}
		_, fl, cfgs, err := parseCompare(args)
		check(err)
		if err == nil && (fl.runs <= 0 || len(cfgs) == 0) {
			t.Fatalf("%q: accepted %d runs of %d configurations", args, fl.runs, len(cfgs))
		}
	})
}
