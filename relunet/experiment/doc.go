// Package experiment holds the protocol of the paper's comparisons, so that
// the command line tool and the notebooks run the same experiments: a data
// set is prepared (Prepare: inputs standardised and targets centred over all
// rows, a seeded 80/20 split, as the reference does), a configuration
// (Config: a method and its settings, named by a label such as
// "analytic+safeguard") is trained on it (Run), many configurations over
// seeds are compared on shared splits (Compare), and the results are
// summarised as mean ± standard deviation (Summarize, Table), compared seed
// by seed with a paired t-test (PairedTests, PairedTable), and written as
// JSON records (Record, WriteJSON).
//
// Methods compare at fixed iteration counts, as the paper does, or at equal
// wall time: Config.Budget gives every method the same seconds, and a
// gradient method then steps until they are spent. The analytic method can
// spend a budget in several ways, each an option of Config and a part of
// the label: restarts from new random starts ("+restarts", several at once
// with "+parallel=N"), hidden hyperplanes started through training rows
// ("+datainit"), a plain stage before the safeguarded one ("+explore"), and
// a polish of the kept network by L-BFGS or Levenberg–Marquardt
// ("+polish=lbfgs"), a damped hidden step ("+damping=X", or "+damping=X/Y"
// for two taken in turn), or the adaptive
// strategy that races these variants within the budget ("+auto"), the
// BudgetLabel: the configuration chosen from measurements across data sets
// (see its comment and auto.go). "+validate" holds out a share of the
// training rows, for any method, and keeps the network with the lowest
// MSE on them; with "+auto" it also chooses the ridge λ, racing the first
// variant at four larger λ.
//
// Errors and predictions are in the data's own units. A metric that is not
// defined (R² of a constant target, test errors without test rows) is NaN,
// printed as "n/a" and written as JSON null; a run that fails (a diverging
// gradient method) is a result with its status and error, not a lost run.
// As in gonum, MSE and R2, which return no error, panic with mat.ErrShape
// when given matrices of different shapes.
package experiment
