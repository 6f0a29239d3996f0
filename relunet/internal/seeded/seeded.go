// Package seeded derives every random-number generator of relunet from a
// user's seed, so that one seed means the same stream in the solvers, the
// data generators and the splits.
package seeded

import "math/rand/v2"

// The second word of every PCG, by purpose; the user's seed is the first.
// Data generators draw from streams of their own, so that a network
// initialised with the seed that generated its data (the teacher's, say)
// does not start with the data's draws: same seed, independent streams.
const (
	stream     = 0x5eed_7e1_0a17 // solvers and splits
	dataStream = 0xda7a_5eed_b0a7
)

// PCG returns the generator state for seed; it can be saved and restored.
func PCG(seed uint64) *rand.PCG { return rand.NewPCG(seed, stream) }

// Rand returns a generator for seed.
func Rand(seed uint64) *rand.Rand { return rand.New(PCG(seed)) }

// Data returns the generator of a data generator's part-th stream for
// seed, independent of Rand's and of the other parts'.
func Data(seed, part uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, dataStream+part)) }
