package seeded

import "testing"

// The data streams of a seed share no draw with its solver stream, nor
// with each other, at any offset within the first few hundred draws.
func TestStreamsAreDistinct(t *testing.T) {
	for seed := uint64(0); seed < 20; seed++ {
		seen := map[uint64]string{}
		for name, r := range map[string]interface{ Uint64() uint64 }{
			"solver": Rand(seed), "data 0": Data(seed, 0), "data 1": Data(seed, 1),
		} {
			for i := 0; i < 300; i++ {
				v := r.Uint64()
				if other, ok := seen[v]; ok && other != name {
					t.Fatalf("seed %d: %s and %s share the draw %#x", seed, name, other, v)
				}
				seen[v] = name
			}
		}
	}
}
