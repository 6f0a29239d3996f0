// Package dirlock locks a directory against other processes, so that
// writers that read, merge and replace its entries take turns.
package dirlock

// Lock takes an exclusive lock on the directory, waiting for other holders,
// and returns its release. Where directories cannot be locked it does
// nothing.
func Lock(dir string) (unlock func(), err error) { return lock(dir) }
