package relunet

import (
	"bytes"
	"os"
	"testing"
)

func TestZZHang(t *testing.T) {
	X, Y := randomProblem(4, 30, 2, 1)
	state, _ := os.ReadFile("/tmp/fz/12033")
	s, err := Load(bytes.NewReader(state), X, Y)
	t.Logf("load: %v", err)
	if err != nil {
		return
	}
	t.Logf("%T %+v", s, s.Last())
	if a, ok := s.(*Analytic); ok {
		t.Logf("opts %+v", a.opts)
	}
	if l, ok := s.(*LBFGS); ok {
		t.Logf("opts %+v", l.opts)
	}
	if d, ok := s.(*Descent); ok {
		t.Logf("opts %+v", d.opts)
	}
}
