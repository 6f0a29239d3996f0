package plots

import (
	"math"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
)

// logTicks marks a logarithmic axis with plain labels at enough values to
// read it: 1, 2 and 5 times each power of ten when the axis spans fewer than
// two decades, every power of ten up to eight decades, and every second or
// fourth beyond; the other integer multiples are minor ticks up to eight
// decades, and beyond them the unlabelled powers of ten alone (more would
// merge into a solid bar).
type logTicks struct{}

func (logTicks) Ticks(min, max float64) []plot.Tick {
	if !(min > 0) || !(max > min) {
		return nil
	}
	decades := math.Log10(max) - math.Log10(min)
	if decades < 1 {
		return fewDecades(min, max)
	}
	lo, hi := int(math.Floor(math.Log10(min))), int(math.Ceil(math.Log10(max)))
	step := 1
	switch {
	case decades > 16:
		step = 4
	case decades > 8:
		step = 2
	}
	var ticks []plot.Tick
	// The sparsest labelling with at least three labels: powers of ten,
	// then 1 and 3, then 1, 2 and 5.
	for _, mantissas := range [][]int{{1}, {1, 3}, {1, 2, 5}} {
		ticks = ticks[:0]
		for k := lo; k <= hi; k++ {
			for m := 1; m <= 9; m++ {
				v := float64(m) * math.Pow(10, float64(k))
				if v < min*(1-1e-12) || v > max*(1+1e-12) {
					continue
				}
				t := plot.Tick{Value: v}
				if (k-lo)%step == 0 && slices.Contains(mantissas, m) {
					t.Label = decimal(m, k)
				}
				if t.Label == "" && m != 1 && decades > 8 {
					continue
				}
				ticks = append(ticks, t)
			}
		}
		if labelled(ticks) >= 4 {
			break
		}
	}
	return ticks
}

// fewDecades marks a log axis of less than a decade with the sparsest of
// 1-2-5, 1-1.5-2-3-5-7 and a dense series of mantissas that labels at least
// five values, so that the labels follow the data wherever they lie on it;
// within a few percent, nice linear values (0.09, 0.1, 0.11) serve.
func fewDecades(min, max float64) []plot.Tick {
	if max/min < 1.5 {
		return linTicks{}.Ticks(min, max)
	}
	lo, hi := int(math.Floor(math.Log10(min))), int(math.Ceil(math.Log10(max)))
	var ticks []plot.Tick
	for _, mantissas := range [][]float64{{1, 2, 5}, {1, 1.5, 2, 3, 5, 7}, {1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 7, 8, 9}} {
		ticks = ticks[:0]
		for k := lo; k <= hi; k++ {
			for _, m := range mantissas {
				v := m * math.Pow(10, float64(k))
				if v < min*(1-1e-12) || v > max*(1+1e-12) {
					continue
				}
				ticks = append(ticks, plot.Tick{Value: v, Label: plain(v)})
			}
		}
		if len(ticks) >= 5 {
			break
		}
	}
	return ticks
}

func labelled(ticks []plot.Tick) int {
	n := 0
	for _, t := range ticks {
		if t.Label != "" {
			n++
		}
	}
	return n
}

// decimal formats m·10^k exactly, without the rounding of m*math.Pow10(k):
// "0.002", "500", "1e-06", "3e+08".
func decimal(m, k int) string {
	if m < 0 {
		return "-" + decimal(-m, k)
	}
	switch {
	case k >= 0 && k <= 5:
		return strconv.Itoa(m) + strings.Repeat("0", k)
	case k < 0 && k >= -4:
		return "0." + strings.Repeat("0", -k-1) + strconv.Itoa(m)
	}
	return strconv.FormatFloat(float64(m)*math.Pow10(k), 'g', 1, 64)
}

// short formats v with three significant digits.
func short(v float64) string { return strconv.FormatFloat(v, 'g', 3, 64) }

// linTicks labels a linear axis at multiples of 1, 2 or 5 times a power of
// ten, the smallest such step that gives at most eight labels (at least
// four, where the axis allows), with unlabelled ticks halfway; labels have
// at most four significant digits, so that rounding never shows
// (0.30000000000000004).
type linTicks struct{}

func (linTicks) Ticks(min, max float64) []plot.Tick {
	if !(max > min) || math.IsInf(max-min, 0) {
		return plot.DefaultTicks{}.Ticks(min, max)
	}
	step := math.Pow(10, math.Floor(math.Log10((max-min)/8)))
	for _, m := range []float64{1, 2, 5, 10} {
		if (max-min)/(m*step) <= 8 {
			step *= m
			break
		}
	}
	var ticks []plot.Tick
	for k := math.Ceil(min/step*2) / 2; k*step <= max*(1+1e-12)+1e-300; k += 0.5 {
		v := k * step
		if math.Abs(v) < 1e-9*step {
			v = 0
		}
		t := plot.Tick{Value: v}
		if k == math.Trunc(k) {
			t.Label = plain(v)
		}
		ticks = append(ticks, t)
	}
	return ticks
}

// plain formats v rounded to four significant digits, without an exponent
// between 1e-4 and 1e6 ("30000", "0.0025"), with one beyond.
func plain(v float64) string {
	r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 4, 64), 64)
	if a := math.Abs(r); a != 0 && (a < 1e-4 || a >= 1e6) {
		return strconv.FormatFloat(r, 'g', 4, 64)
	}
	return strconv.FormatFloat(r, 'f', -1, 64)
}

// SymLog is a symmetric logarithmic scale: linear within ±Linear of zero and
// logarithmic beyond, so that values of both signs over many decades show
// together: x ↦ sign(x)·log10(1 + |x|/Linear).
type SymLog struct{ Linear float64 }

func (s SymLog) f(x float64) float64 {
	return math.Copysign(math.Log10(1+math.Abs(x)/s.Linear), x)
}

// Normalize implements plot.Normalizer.
func (s SymLog) Normalize(min, max, x float64) float64 {
	a, b := s.f(min), s.f(max)
	return (s.f(x) - a) / (b - a)
}

// Ticks implements plot.Ticker: zero, and ±Linear·10^k, labelled where they
// do not crowd.
func (s SymLog) Ticks(min, max float64) []plot.Tick {
	ticks := []plot.Tick{{Value: 0, Label: "0"}}
	k0 := int(math.Floor(math.Log10(s.Linear)))
	big := math.Max(math.Abs(min), math.Abs(max))
	kmax := int(math.Ceil(math.Log10(big)))
	step := 1
	if kmax-k0 > 6 {
		step = 2
	}
	for k := k0; k <= kmax; k++ {
		for _, sign := range []float64{-1, 1} {
			v := sign * math.Pow10(k)
			if v < min || v > max {
				continue
			}
			t := plot.Tick{Value: v}
			// ±Linear itself would crowd the label of zero.
			if k > k0 && (k-k0)%step == 0 {
				t.Label = decimal(int(sign), k)
			}
			ticks = append(ticks, t)
		}
	}
	return ticks
}
