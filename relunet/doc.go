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
// several outputs. The loss is the mean squared error, with a small ridge λ
// in each solve.
//
// Because φ_α(u) = φ_α'(u)·u, the activation pattern G_ij = φ_α'(w_jᵀx̃_i) ∈
// {α, 1} makes the network linear in each layer once the other layer and
// the pattern are fixed:
//
//   - output step: with W fixed, [β₀; β] is the ridge least-squares solution
//     on the hidden outputs [1, φ_α(X̃Wᵀ)];
//   - hidden step: with β and G fixed, f is linear in vec(W); row (i, o) of
//     the design is (β_{·o} ⊙ G_i) ⊗ x̃_i, so vec(W) solves an (hD)×(hD)
//     normal system whose block (j, k) is (ββᵀ)_jk Σ_i G_ij G_ik x̃_i x̃_iᵀ,
//     with λI added on the diagonal;
//   - pattern update: G is recomputed from the new W.
//
// Each sub-step reaches a critical point of its own sub-problem, and a fixed
// point of the alternation is a critical point of the loss. The loss is not
// monotone along the alternation: a new pattern can make the true loss much
// larger than the frozen-pattern ("surrogate") loss that the hidden step
// minimised. Analytic keeps the best iterate seen, and its Safeguard option
// backtracks such steps.
//
// # Solvers
//
// Every solver implements Solver and is step-wise, in the manner of
// bufio.Scanner: construct with data and options, call Step in a loop,
// then read Err and Status (why it stopped). Analytic is the method of the
// paper; its sub-steps HiddenStep, UpdatePattern and OutputStep can also be
// called one by one, each adding a Record, so that Last, History and Best
// always describe the network as it is. Descent (SGD, Adam), LBFGS and LM
// (Levenberg–Marquardt) train the same network on the same data as
// baselines, one epoch or iteration per Step. Every solver can Save its
// whole state and Load it again bit for bit, so that a notebook cell, which
// runs as a fresh program, can continue where an earlier cell stopped.
//
// The same rules hold for every solver:
//
//   - A step that does not complete (it fails, diverges or is cut short by
//     the context) changes nothing and adds no record: Step returns false,
//     Status says why, and the network is the one before the step.
//   - A record's fields that only some methods have are in that method's
//     detail (Record.Analytic, Record.Descent, ...); nil means absent.
//   - A solver is not safe for concurrent use.
//
// # Options
//
// One rule holds for every field of every options struct, as in gonum: its
// zero value means the documented default, so that AnalyticOptions{Hidden:
// 32} is the reference implementation's method and LBFGSOptions{Hidden: 32}
// the reference's L-BFGS. The fields without a default, such as Hidden, are
// required. A negative value turns a limit, a tolerance or the ridge off:
// Iterations: -1 is no iteration limit, Tol: -1 no convergence test, Ridge:
// -1 no ridge. Each constructor resolves the options once, and Options
// returns them resolved: the defaults filled in, the memory limit and the
// hidden step's solve as chosen, and Init the starting network, so that a
// constructor given them repeats the run.
//
// # Contexts, memory and sizes
//
// A solver is made with a context.Context, which stops its work: the
// constructor's, and every later Step and sub-step's, which checks it
// within long steps (between row chunks of the assembly, blocks of the
// factorisation, the Jacobian's chunks, conjugate-gradient iterations,
// mini-batches and line-search evaluations), so that a step stops within
// a fraction of a second. Once the context's deadline has passed (a budget
// of wall time), Step returns false with RuntimeLimit; once it is
// cancelled (an interrupt), with Canceled and the context's error. Either
// way the run has ended: Step and the sub-steps do nothing more. (gonum's
// own Cholesky, used with the purego tag or without AVX2, and the eigen
// fallback are not interrupted within a factorisation.) A constructor whose
// context ends before its first network is made returns no solver and an
// error that wraps the context's, a deadline's too.
//
// Each solver checks, before it allocates anything large, that its copy of
// the data, its buffers and (for Analytic) the hidden step's system fit in
// its MemoryLimit: 0 means what the process may use when the solver is
// made, the least of the machine's available memory, its control group's
// limit, its address-space limit (RLIMIT_AS) and GOMEMLIMIT. Every product
// of sizes is computed so that it cannot wrap. What does not fit is a
// *MemoryError, at once. Analytic solvers that step a few at a time, such
// as the starts of one run, may share a Workspace, which lends them the
// hidden step's system for a step at a time: they then hold fewer systems
// and touch less new memory, with the same results. The check still counts
// a system for each solver.
//
// # Errors
//
// Bad data and options are errors that name what is wrong and where. A
// state file is checked (checksum, and every size and index against the
// others and the data) before use: a damaged or crafted one is an error
// wrapping ErrCorrupt, never a panic. Errors that a program may want to
// tell apart are typed, and errors.Is and errors.As match them: ErrMemory
// and *MemoryError, ErrDiverged and *DivergedError, ErrCorrupt, and the
// context's errors. As in gonum, a matrix of the wrong shape given to a
// function that returns no error panics with mat.ErrShape.
//
// # Packages
//
// Package data reads, fetches and generates data sets; package experiment
// holds the protocol of the paper's comparisons (split and scale, metrics,
// one run, many runs and their summary); package plots draws the figures
// and package display shows them in a GoNB notebook. The hidden step's
// normal matrix is formed by internal/gram on the kernels of
// internal/asm/f64, and solved by internal/spd; where forming it costs far
// more than a product with it (the patches), conjugate gradients solve the
// step without it (see HiddenSolve). Results are the same bits for any
// number of goroutines.
package relunet
