// Command relunet trains two-layer ReLU networks analytically or by gradient
// methods, and reproduces the comparisons of A. Barbu, "Training a Two-Layer
// ReLU Network Analytically" (Sensors, 2023), from the shell.
//
//	relunet train   -data NAME|FILE.csv [-target K] -hidden H -method analytic|sgd|adam|lbfgs
//	                [-iters N] [-epochs N] [-seed S] [-alpha A] [-ridge L] [-safeguard] [-test 0.2] [-json]
//	relunet compare -data NAME|FILE.csv -hidden H -runs R [-methods analytic,sgd,adam,lbfgs] [-out DIR] [-json]
//	relunet data list
//	relunet data fetch NAME
//
// With -json every run is one JSON object on standard output with the fields
// dataset, method, safeguard, hidden, seed, alpha, ridge, iterations, n_train,
// n_test, train_mse, test_mse, train_r2, test_r2, seconds, curve (training
// MSE of the initial model, then one value per iteration or epoch) and
// curve_seconds (cumulative wall time at each). The exit status is 0 on
// success, 2 on a usage error and 1 on any other failure.
package main
