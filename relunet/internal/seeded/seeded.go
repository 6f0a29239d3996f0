// Package seeded derives every random-number generator of relunet from a
// user's seed, so that one seed means the same stream in the solvers, the
// data generators and the splits.
package seeded

import "math/rand/v2"

// stream is the second word of every PCG: the user's seed is the first.
const stream = 0x5eed_7e1_0a17

// PCG returns the generator state for seed; it can be saved and restored.
func PCG(seed uint64) *rand.PCG { return rand.NewPCG(seed, stream) }

// Rand returns a generator for seed.
func Rand(seed uint64) *rand.Rand { return rand.New(PCG(seed)) }
