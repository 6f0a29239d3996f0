// Package experiment holds the protocol of the paper's comparisons, so that
// the command line tool and the notebooks run the same experiments: a data
// set is prepared (Prepare: inputs standardised and targets centred over all
// rows, a seeded 80/20 split, as the reference does), a configuration
// (Config: a method and its settings, named by a label such as
// "analytic+safeguard") is trained on it (Run), many configurations over
// seeds are compared on shared splits (Compare), and the results are
// summarised as mean ± standard deviation (Summarize, Table) and written as
// JSON records (Record, WriteJSON).
//
// Errors and predictions are in the data's own units. A metric that is not
// defined (R² of a constant target, test errors without test rows) is NaN,
// printed as "n/a" and written as JSON null; a run that fails (a diverging
// gradient method) is a result with its status and error, not a lost run.
// As in gonum, MSE and R2, which return no error, panic with mat.ErrShape
// when given matrices of different shapes.
package experiment
