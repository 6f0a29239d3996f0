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
// tool's -json output and runs.json; keep its fields stable. An undefined
// metric (no test rows, R² of a constant target) and a curve value that is
// not finite (a diverged run) are null.
type Record struct {
	Dataset      string     `json:"dataset"`
	Method       string     `json:"method"`
	Config       string     `json:"config"` // the label, as Config.Label
	Safeguard    bool       `json:"safeguard"`
	Hidden       int        `json:"hidden"`
	Seed         uint64     `json:"seed"`
	Alpha        float64    `json:"alpha"`
	Ridge        float64    `json:"ridge"`
	LR           float64    `json:"lr,omitempty"`
	Batch        int        `json:"batch,omitempty"`
	Budget       float64    `json:"budget_seconds,omitempty"`
	Iterations   int        `json:"iterations"`
	Starts       int        `json:"starts"`
	NTrain       int        `json:"n_train"`
	NTest        int        `json:"n_test"`
	TrainMSE     *float64   `json:"train_mse"`
	TestMSE      *float64   `json:"test_mse"`
	TrainR2      *float64   `json:"train_r2"`
	TestR2       *float64   `json:"test_r2"`
	Seconds      float64    `json:"seconds"`
	Status       string     `json:"status"`
	Error        string     `json:"error,omitempty"`
	Curve        []*float64 `json:"curve"`
	CurveSeconds []float64  `json:"curve_seconds"`
}

// NewRecord returns the record of a result.
func NewRecord(r *Result) Record {
	rec := Record{
		Dataset: r.Dataset, Method: r.Config.Method.String(), Config: r.Config.Label(), Safeguard: r.Config.Safeguard,
		Hidden: r.Config.Hidden, Seed: r.Config.Seed, Alpha: r.Config.Alpha, Ridge: r.Config.Ridge,
		LR: r.Config.LR, Batch: r.Config.Batch,
		Budget: r.Config.Budget.Seconds(), Iterations: r.Iterations, Starts: r.Starts, NTrain: r.NTrain, NTest: r.NTest,
		TrainMSE: Finite(r.TrainMSE), TestMSE: Finite(r.TestMSE), TrainR2: Finite(r.TrainR2), TestR2: Finite(r.TestR2),
		Seconds: r.Seconds, Status: r.Status.String(), CurveSeconds: r.CurveSeconds,
	}
	if r.Err != nil {
		rec.Error = strings.ReplaceAll(r.Err.Error(), "\n", " ")
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
	var st relunet.Status = -1
	for s := relunet.NotTerminated; s <= relunet.RuntimeLimit; s++ {
		if s.String() == rec.Status {
			st = s
		}
	}
	if st < 0 {
		return nil, fmt.Errorf("experiment: record of %s: unknown status %q", rec.Dataset, rec.Status)
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
		Status:     st,
		Iterations: rec.Iterations, Starts: rec.Starts, Seconds: rec.Seconds, CurveSeconds: rec.CurveSeconds,
	}
	r.Config.Seed, r.Config.Alpha, r.Config.Ridge, r.Config.LR, r.Config.Batch = rec.Seed, rec.Alpha, rec.Ridge, rec.LR, rec.Batch
	r.Config.Budget = time.Duration(rec.Budget * float64(time.Second))
	if rec.Error != "" {
		r.Err = errors.New(rec.Error)
	}
	for _, v := range rec.Curve {
		r.Curve = append(r.Curve, val(v))
	}
	return r, nil
}

// WriteJSON writes the results as an indented JSON array of records.
func WriteJSON(w io.Writer, results []*Result) error {
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
