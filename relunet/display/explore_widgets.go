package display

import (
	"context"
	"encoding/base64"
	"fmt"
	"html"
	"strings"
	"time"

	"github.com/janpfeifer/gonb/gonbui"
	"github.com/janpfeifer/gonb/gonbui/comms"
	"github.com/janpfeifer/gonb/gonbui/dom"
	"github.com/janpfeifer/gonb/gonbui/widgets"

	"github.com/relunet/relunet/relunet/plots"
)

// The explorer's elements carry fixed ids, so that the notebooks' browser
// test can find them.
const (
	exploreStatusID = "relunet-explore-status"
	exploreFigsID   = "relunet-explore-figures"
)

// frontEndWait is how long Explore waits for a notebook front end to
// answer, in each of frontEndTries attempts, before it takes the run for a
// headless one.
const frontEndWait = 5 * time.Second

// frontEndTries is the number of attempts to reach the front end. GoNB's
// JavaScript gives the kernel half a second to acknowledge its connection
// and closes it when the answer comes later, as it can on a busy machine
// (it happened once in the project's live-UI check). A second attempt
// installs the connection again: GoNB finds the old one dead when its
// heartbeat goes unanswered. kernel-setup/browser/live-ui.mjs runs the
// explorer once more with that first connection failed on purpose; with a
// single attempt that run failed 3 times in 5, with two it passed 5 of 5,
// and later failed once in a CI run where the second connection was late
// too, on a machine busy with the notebook checks. A third attempt costs a
// headless run five more seconds.
const frontEndTries = 3

// Explore shows the interactive explorer of notebook 6 in the cell and
// runs until the cell is interrupted: controls for the data set, hidden
// units, λ, α, seed and the safeguard, buttons for each sub-step, one
// alternation, a run to the stopping rules and a reset, and after each
// action the status line and three figures (the fit, the loss with the
// hidden steps' surrogates, the activation pattern) updated in place.
//
// Widgets need a notebook front end that runs their JavaScript; a headless
// run (jupyter nbconvert --execute) has none. Explore asks the front end
// first, and when none answers within three times five seconds it shows
// one static state, after one alternation, and says that the controls need
// a live kernel, rather than wait forever.
func Explore() {
	ctx := Context()
	e := Must(NewExplorer(ctx, DefaultSettings()))
	live := false
	for try := 0; try < frontEndTries && gonbui.IsNotebook && !live; try++ {
		live = frontEnd(frontEndWait)
	}
	if !live {
		Check(e.Do(ctx, ActAlternation, nil))
		fmt.Println("No notebook front end answered, so the controls cannot work here (they need a live kernel in Jupyter).")
		fmt.Println("The explorer's state after one alternation with its first settings:")
		fmt.Println(e.Status())
		fit, loss, pat, err := e.Figures()
		Check(err)
		Show(fit, nil)
		Show(loss, nil)
		Show(pat, nil)
		return
	}
	runExplorer(ctx, e)
}

// frontEnd reports whether a notebook front end runs the cell's JavaScript:
// a snippet sends a value back through GoNB's comms, as every widget does
// when it starts.
func frontEnd(wait time.Duration) bool {
	addr := "/relunet/probe/" + gonbui.UniqueID()
	comms.Start() // installs GoNB's comms in the front end, where there is one
	ch := comms.Listen[int](addr)
	defer ch.Close()
	// The comms may be installed a moment after the snippet runs: it looks
	// for them for up to the wait.
	dom.TransientJavascript(fmt.Sprintf(`(() => {
  let tries = 0;
  const send = () => {
    const c = globalThis?.gonb_comm;
    if (c) { c.newSyncedVariable(%q, 1); } else if (tries++ < %d) { setTimeout(send, 100); }
  };
  send();
})();`, addr, int(wait/(100*time.Millisecond))))
	select {
	case <-ch.C:
		return true
	case <-time.After(wait):
		return false
	}
}

// control is a labelled place for a widget.
type control struct{ id, label string }

func runExplorer(ctx context.Context, e *Explorer) {
	set := e.Settings()
	places := []control{
		{"data", "data set"}, {"hidden", "hidden units h (1 to 128)"}, {"ridge", "log₁₀ λ (−8 to 0)"},
		{"alpha", "α × 100 (0 to 30)"}, {"seed", "seed (0 to 99)"}, {"safeguard", "safeguard"}, {"buttons", ""},
	}
	root := "relunet-explore-" + gonbui.UniqueID()
	var sb strings.Builder
	fmt.Fprintf(&sb, `<div id="%s" style="font-family:sans-serif">`, root)
	for _, p := range places {
		fmt.Fprintf(&sb, `<div style="margin:2px 0"><span style="display:inline-block;width:14em">%s</span><span id="%s-%s"></span></div>`,
			html.EscapeString(p.label), root, p.id)
	}
	sb.WriteString(`</div>`)
	gonbui.DisplayHTML(sb.String())
	place := func(id string) string { return root + "-" + id }

	data := widgets.Select(ExploreSets).AppendTo(place("data")).Done()
	hidden := widgets.Slider(1, 128, set.Hidden).AppendTo(place("hidden")).Done()
	ridge := widgets.Slider(-8, 0, int(set.LogRidge)).AppendTo(place("ridge")).Done()
	alpha := widgets.Slider(0, 30, int(100*set.Alpha)).AppendTo(place("alpha")).Done()
	seed := widgets.Slider(0, 99, int(set.Seed)).AppendTo(place("seed")).Done()
	safe := widgets.Select([]string{"off", "on"}).AppendTo(place("safeguard")).Done()
	acts := []struct {
		label string
		act   Action
	}{
		{"hidden step", ActHidden}, {"pattern update", ActPattern}, {"output step", ActOutput},
		{"one alternation", ActAlternation}, {"run to the stopping rule", ActRun}, {"reset", ActReset},
	}
	clicks := make(chan Action, 16)
	for _, a := range acts {
		b := widgets.Button(a.label).WithHtmlId("relunet-explore-" + strings.ReplaceAll(a.label, " ", "-")).AppendTo(place("buttons")).Done()
		ch := b.Listen()
		go func() {
			for range ch.C {
				clicks <- a.act
			}
		}()
	}
	// The settings' widgets, one channel: any change makes a new solver.
	// The values come with the changes (a widget's Value may lag them).
	type change struct{ which, value int }
	changed := make(chan change, 16)
	for k, l := range []*comms.AddressChan[int]{data.Listen(), hidden.Listen(), ridge.Listen(), alpha.Listen(), seed.Listen(), safe.Listen()} {
		go func() {
			for v := range l.C {
				changed <- change{k, v}
			}
		}()
	}
	outID := gonbui.UniqueID()
	show := func(note string) { gonbui.UpdateHTML(outID, exploreHTML(e, note)) }
	show("")
	for {
		select {
		case <-ctx.Done():
			show("the cell was interrupted: the controls no longer answer")
			gonbui.Sync()
			return
		case c := <-changed:
			// A slider being dragged sends many values: take them all, and
			// make one solver with the last.
			s := e.Settings()
			apply(&s, c.which, c.value)
			for more := true; more; {
				select {
				case c = <-changed:
					apply(&s, c.which, c.value)
				default:
					more = false
				}
			}
			if s == e.Settings() {
				continue
			}
			if err := e.Set(ctx, s); err != nil {
				show("error: " + err.Error())
				continue
			}
			show("")
		case act := <-clicks:
			last := time.Now()
			err := e.Do(ctx, act, func(iter int) {
				if time.Since(last) > 200*time.Millisecond {
					last = time.Now()
					gonbui.UpdateHTML(outID, fmt.Sprintf(`<div id="%s">running: alternation %d …</div>`, exploreStatusID, iter))
				}
			})
			note := ""
			if err != nil {
				note = "error: " + err.Error()
			}
			show(note)
		}
	}
}

// apply sets the setting of the explorer's widget number which (in the
// order of the controls) to the widget's value.
func apply(s *Settings, which, value int) {
	switch which {
	case 0:
		if value >= 0 && value < len(ExploreSets) {
			s.Data = ExploreSets[value]
		}
	case 1:
		s.Hidden = value
	case 2:
		s.LogRidge = float64(value)
	case 3:
		s.Alpha = float64(value) / 100
	case 4:
		s.Seed = uint64(value)
	case 5:
		s.Safeguard = value == 1
	}
}

// exploreHTML returns the status line and the three figures as HTML.
func exploreHTML(e *Explorer, note string) string {
	var sb strings.Builder
	status := e.Status()
	if note != "" {
		status += " — " + note
	}
	fmt.Fprintf(&sb, `<div id="%s" style="font-family:monospace;margin:6px 0">%s</div><div id="%s">`,
		exploreStatusID, html.EscapeString(status), exploreFigsID)
	fit, loss, pat, err := e.Figures()
	if err != nil {
		fmt.Fprintf(&sb, `<div>error: %s</div></div>`, html.EscapeString(err.Error()))
		return sb.String()
	}
	for _, f := range []*plots.Figure{fit, loss, pat} {
		b, err := f.Render("png")
		if err != nil {
			fmt.Fprintf(&sb, `<div>error: %s</div>`, html.EscapeString(err.Error()))
			continue
		}
		fmt.Fprintf(&sb, `<img src="data:image/png;base64,%s" style="width:%dpx;max-width:100%%" alt="figure"/>`,
			base64Encode(b), int(f.Width.Points()*96/72))
	}
	sb.WriteString(`</div>`)
	return sb.String()
}

func base64Encode(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
