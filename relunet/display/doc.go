// Package display shows relunet's plots, tables and progress in a GoNB
// notebook. Outside the kernel every function does nothing and returns no
// error, so the same code runs in tests and command line programs.
package display
