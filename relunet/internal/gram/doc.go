// Package gram forms the sums of outer products under relunet's two linear
// solves: the hidden step's normal matrix and right-hand side, and the Gram
// matrix of the output step; and, for the hidden step's conjugate
// gradients, products with the normal matrix without forming it
// (NormalMul) and its diagonal blocks (BlockDiag).
//
// The hidden step's normal matrix N has the D×D block
//
//	N_jk = c_jk Σ_i G_ij G_ik x̃_i x̃_iᵀ,   c = ββᵀ,
//
// plus λI on the diagonal. Write G_ij = α + (1-α)a_ij with a_ij ∈ {0, 1}
// the activity of neuron j on row i. Then
//
//	Σ_i G_ij G_ik x̃_i x̃_iᵀ = α²S + α(1-α)(P_j + P_k) + (1-α)²Q_jk
//
// with S = Σ_i x̃_i x̃_iᵀ over all rows, P_j = Q_jj over the rows where j is
// active and Q_jk over the rows where both are. Only Q needs work per pair,
// and only over the rows both neurons share: for the ReLU roughly a quarter
// of them. Neurons are taken in groups of b: for a pair of groups every row
// falls in one of 4^b activity classes, and each class's Gram sum is formed
// once and reaches every pair of neurons active in it, so a row costs one
// outer product per pair of groups instead of one per pair of active
// neurons. The classes that share the code of the first group are summed
// into one running sum, in the Gray-code order of the second group's code,
// and the sum over the codes with a given neuron active is a difference of
// that running sum at the ends of runs of codes: consecutive Gray codes
// differ in one neuron, so a class costs its rows and one addition of a D×D
// sum, and groups can be as large as the rows allow (up to 7 neurons). The
// rows of a class are scattered through the data: the tile kernels read them
// in place through their indices while the data are small enough to stay in
// cache, and otherwise from a copy made with prefetches ahead of it. For
// D ≤ 8 a class's sum is just the rows' D(D+1)/2 products, and each row is
// added to its class in one pass. Every term is symmetric, so
// only upper triangles are summed, and only blocks with j ≤ k are formed.
//
// Work is split into units fixed by the problem and summed in a fixed order
// (package parallel), so results are the same bits for any number of
// goroutines.
package gram
