package experiment

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/relunet/relunet/relunet"
)

// Record is the JSON form of a Result, the contract of the command line
// tool's -json output and runs.json; keep its fields stable. Every field is
// always written. A value that does not apply or is not defined is null:
// lr and batch for the methods other than SGD and Adam, ridge for the
// gradient methods, budget_seconds without a budget, error for a run that
// did not fail, a metric without test rows or of a constant target (R²),
// and a curve value that is not finite (a diverged run).
//
//	dataset        the data set's name
//	method         analytic, sgd, adam, lbfgs or lm
//	config         the configuration's label (Config.Label)
//	safeguard      whether the analytic safeguard was on
//	hidden         hidden units h
//	seed           the seed of the split and the initial weights
//	alpha          the leaky slope α
//	ridge          the analytic method's λ
//	lr, batch      the learning rate and mini-batch size of SGD and Adam
//	budget_seconds the run's wall-time budget
//	iterations     steps done, over all starts and stages
//	starts         analytic starts made
//	n_train, n_test               rows in the split
//	train_mse, test_mse           errors in the targets' own units
//	train_r2, test_r2             R² against the training mean
//	validation_mse the validation MSE of the kept network, with validate
//	seconds        the run's wall time
//	status         why it stopped (relunet.Status): "iteration limit",
//	               "converged", "no progress", "failure", "runtime limit"
//	error          why it failed
//	arms           with auto: each arm's name, starts, seconds and best
//	               score (training MSE, or validation MSE with validate)
//	curve          training MSE of the initial model, then after each step
//	               (with restarts, the lowest so far)
//	curve_seconds  the wall time of each curve point since the run began
type Record struct {
	Dataset      string      `json:"dataset"`
	Method       string      `json:"method"`
	Config       string      `json:"config"`
	Safeguard    bool        `json:"safeguard"`
	Hidden       int         `json:"hidden"`
	Seed         uint64      `json:"seed"`
	Alpha        float64     `json:"alpha"`
	Ridge        *float64    `json:"ridge"`
	LR           *float64    `json:"lr"`
	Batch        *int        `json:"batch"`
	Budget       *float64    `json:"budget_seconds"`
	Iterations   int         `json:"iterations"`
	Starts       int         `json:"starts"`
	NTrain       int         `json:"n_train"`
	NTest        int         `json:"n_test"`
	TrainMSE     *float64    `json:"train_mse"`
	TestMSE      *float64    `json:"test_mse"`
	TrainR2      *float64    `json:"train_r2"`
	TestR2       *float64    `json:"test_r2"`
	Seconds      float64     `json:"seconds"`
	Validation   *float64    `json:"validation_mse"`
	Status       string      `json:"status"`
	Error        *string     `json:"error"`
	Arms         []ArmRecord `json:"arms"`
	Curve        []*float64  `json:"curve"`
	CurveSeconds []float64   `json:"curve_seconds"`
}

// ArmRecord is the JSON form of an ArmReport.
type ArmRecord struct {
	Name    string   `json:"name"`
	Starts  int      `json:"starts"`
	Seconds float64  `json:"seconds"`
	Best    *float64 `json:"best"`
}

// NewRecord returns the record of a result, with the defaults of its
// configuration resolved.
func NewRecord(r *Result) Record {
	c := r.Config
	rec := Record{
		Dataset: r.Dataset, Method: c.Method.String(), Config: c.Label(), Safeguard: c.Safeguard,
		Hidden: c.Hidden, Seed: c.Seed, Alpha: c.Alpha, Iterations: r.Iterations, Starts: r.Starts, NTrain: r.NTrain, NTest: r.NTest,
		TrainMSE: Finite(r.TrainMSE), TestMSE: Finite(r.TestMSE), TrainR2: Finite(r.TrainR2), TestR2: Finite(r.TestR2),
		Validation: Finite(r.Validation), Seconds: r.Seconds, Status: r.Status.String(), CurveSeconds: r.CurveSeconds,
	}
	for _, a := range r.Arms {
		rec.Arms = append(rec.Arms, ArmRecord{Name: a.Name, Starts: a.Starts, Seconds: a.Seconds, Best: Finite(a.Best)})
	}
	switch c.Method {
	case relunet.MethodAnalytic:
		ridge := c.Ridge
		switch {
		case ridge == 0:
			ridge = relunet.DefaultRidge
		case ridge < 0:
			ridge = 0
		}
		rec.Ridge = &ridge
	case relunet.MethodSGD, relunet.MethodAdam:
		lr, batch := c.LR, c.Batch
		if lr == 0 {
			lr = map[relunet.Method]float64{relunet.MethodSGD: 0.03, relunet.MethodAdam: 0.001}[c.Method]
		}
		if batch == 0 {
			batch = map[relunet.Method]int{relunet.MethodSGD: 2048, relunet.MethodAdam: 256}[c.Method]
		}
		rec.LR, rec.Batch = &lr, &batch
	}
	if c.Budget > 0 {
		b := c.Budget.Seconds()
		rec.Budget = &b
	}
	if r.Err != nil {
		e := strings.ReplaceAll(r.Err.Error(), "\n", " ")
		rec.Error = &e
	}
	for _, v := range r.Curve {
		rec.Curve = append(rec.Curve, Finite(v))
	}
	return rec
}

// Label is the record's configuration label, as Config.Label.
func (rec Record) Label() string {
	if rec.Config != "" {
		return rec.Config
	}
	if rec.Safeguard {
		return rec.Method + "+safeguard"
	}
	return rec.Method
}

// Result returns the result the record describes; the configuration's
// Progress is nil, and a failed run's error holds its message.
func (rec Record) Result() (*Result, error) {
	cfg, err := ParseConfig(rec.Label(), rec.Hidden)
	if err != nil {
		return nil, err
	}
	st, err := relunet.ParseStatus(rec.Status)
	if err != nil {
		return nil, fmt.Errorf("experiment: record of %s: %w", rec.Dataset, err)
	}
	val := func(p *float64) float64 {
		if p == nil {
			return math.NaN()
		}
		return *p
	}
	r := &Result{
		Dataset: rec.Dataset,
		Config:  cfg,
		NTrain:  rec.NTrain, NTest: rec.NTest,
		Metrics:    Metrics{TrainMSE: val(rec.TrainMSE), TestMSE: val(rec.TestMSE), TrainR2: val(rec.TrainR2), TestR2: val(rec.TestR2)},
		Validation: val(rec.Validation),
		Status:     st,
		Iterations: rec.Iterations, Starts: rec.Starts, Seconds: rec.Seconds, CurveSeconds: rec.CurveSeconds,
	}
	r.Config.Seed, r.Config.Alpha = rec.Seed, rec.Alpha
	if rec.Ridge != nil {
		r.Config.Ridge = *rec.Ridge
		if *rec.Ridge == 0 {
			r.Config.Ridge = -1 // none
		}
	}
	if rec.LR != nil {
		r.Config.LR = *rec.LR
	}
	if rec.Batch != nil {
		r.Config.Batch = *rec.Batch
	}
	if rec.Budget != nil {
		r.Config.Budget = time.Duration(*rec.Budget * float64(time.Second))
	}
	if rec.Error != nil {
		r.Err = errors.New(*rec.Error)
	}
	for _, a := range rec.Arms {
		r.Arms = append(r.Arms, ArmReport{Name: a.Name, Starts: a.Starts, Seconds: a.Seconds, Best: val(a.Best)})
	}
	for _, v := range rec.Curve {
		r.Curve = append(r.Curve, val(v))
	}
	return r, nil
}

// WriteJSON writes the results as an indented JSON array of records.
func WriteJSON(w io.Writer, results []*Result) error {
	if err := noNil(results); err != nil {
		return err
	}
	recs := make([]Record, len(results))
	for i, r := range results {
		recs[i] = NewRecord(r)
	}
	b, err := json.MarshalIndent(recs, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// ReadJSON reads results written by WriteJSON.
func ReadJSON(r io.Reader) ([]*Result, error) {
	var recs []Record
	if err := json.NewDecoder(r).Decode(&recs); err != nil {
		return nil, fmt.Errorf("experiment: reading results: %w", err)
	}
	out := make([]*Result, len(recs))
	for i, rec := range recs {
		var err error
		if out[i], err = rec.Result(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// noNil reports a nil result, which a results file cannot hold.
func noNil(results []*Result) error {
	for i, r := range results {
		if r == nil {
			return fmt.Errorf("experiment: result %d is nil", i)
		}
	}
	return nil
}
