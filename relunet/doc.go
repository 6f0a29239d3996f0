// Package relunet trains a two-layer ReLU network analytically, by
// alternating exact least-squares solves, after A. Barbu, "Training a
// Two-Layer ReLU Network Analytically", Sensors 23(8):4072, 2023.
//
// The network is
//
//	f(x) = Σ_j β_j φ_α(w_jᵀx̃) + β₀,   x̃ = [1, x],
//
// with φ_α(u) = max(u, 0) + α·min(u, 0). W is h×D (D = d+1, column 0 holds
// the hidden biases), β is h×m and β₀ has m entries, so a network can have
// several outputs.
//
// The activation pattern G_ij = φ_α'(w_jᵀx̃_i) ∈ {α, 1} makes the network
// linear in each layer once the other layer and the pattern are fixed:
//
//   - output step: with W fixed, [β₀; β] is the ridge least-squares solution
//     on the hidden outputs [1, φ_α(X̃Wᵀ)];
//   - hidden step: with β and G fixed, f is linear in vec(W); row (i, o) of
//     the design is (β_{·o} ⊙ G_i) ⊗ x̃_i, so vec(W) solves an (hD)×(hD)
//     normal system whose block (j, k) is (ββᵀ)_jk Σ_i G_ij G_ik x̃_i x̃_iᵀ,
//     plus λI;
//   - pattern update: G is recomputed from the new W.
//
// Each sub-step reaches a critical point of its own sub-problem, and a fixed
// point of the alternation is a critical point of the loss. The loss is not
// monotone along the alternation: a new pattern can make the true loss much
// larger than the frozen-pattern ("surrogate") loss that the hidden step
// minimised. Analytic keeps the best iterate seen, and its Safeguard option
// backtracks such steps.
//
// The solvers are step-wise, in the manner of bufio.Scanner: construct with
// data and options, call Step in a loop, inspect the state and Err. Analytic is
// the method of the paper; SGD, Adam and LBFGS train the same network on the
// same data as gradient baselines, one epoch (or iteration) per Step. Every
// solver can Save its whole state and be loaded again bit for bit, so that a
// notebook cell, which runs as a fresh program, can continue where an earlier
// cell stopped.
//
// The hidden step dominates the cost. Its normal matrix is summed from the
// upper triangles of D×D Gram matrices, each over the rows where both neurons
// are active; neurons are taken in groups, so that a row adds one outer
// product per pair of groups rather than per pair of active neurons (for
// D ≤ 8 a row adds just its D(D+1)/2 products to its class). The sums, the
// pre-activations and a tiled Cholesky factorisation run on AVX2/FMA kernels
// written in Go assembly where the CPU has them, with AVX-512 tiles that
// form the same sums in the same order (the purego build tag, or any other
// architecture, uses portable Go). Work is split into fixed units summed in
// a fixed order, so results are the same bits for any GOMAXPROCS. A
// Cholesky solve is trusted while the condition number is below 1e14: the
// ridge λ, less a bound on the rounding of the sums, is a floor under the
// smallest eigenvalue that usually proves it, and the condition is
// estimated only when it does not.
// Above CGThreshold unknowns the hidden step is a matrix-free
// conjugate-gradient solve instead. The openblas build tag sends gonum's own
// BLAS and LAPACK calls to OpenBLAS.
//
// The package also reads numeric CSV files, prepares data the way the
// reference implementation does (standardised inputs, centred targets,
// seeded 80/20 split), loads the reference data sets from a directory and
// generates synthetic ones.
package relunet
