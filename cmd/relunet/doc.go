// Command relunet trains two-layer ReLU networks analytically or by gradient
// methods, and reproduces the comparisons of A. Barbu, "Training a Two-Layer
// ReLU Network Analytically" (Sensors, 2023), from the shell.
//
//	relunet train   -data NAME|FILE [flags]         train one network, print its metrics
//	relunet compare -data NAME|FILE [flags]         compare methods over seeded splits
//	relunet data list                               the data sets and where they are
//	relunet data fetch NAME... | all                download reference sets into the cache (all: but year)
//
// FILE is a numeric CSV file, or a PNG or JPEG image cut into patches for a
// denoising autoencoder (-patch, -stride, -noise). -split fixed takes a data
// set's own split (year's) instead of the random one of -test, and -rows N
// about N of the set's rows, evenly spaced.
// 'relunet train -h' and 'relunet compare -h' list the flags with their
// defaults. compare takes methods as labels: a method name, and
// "analytic+safeguard" for the safeguarded analytic method.
//
// With -json every run is one JSON object on standard output with the fields
// dataset, method, safeguard, hidden, seed, alpha, ridge, iterations, n_train,
// n_test, train_mse, test_mse, train_r2, test_r2, seconds, status (why the run
// stopped), error (a failed run's), curve (training MSE of the initial model,
// then one value per iteration or epoch) and curve_seconds (cumulative wall
// time at each). An undefined value (R² of a constant target, test errors
// without test rows, a curve value past a divergence) is null. The exit
// status is 0 on success, 2 on a usage error and 1 on any other failure,
// with one line on standard error.
package main
