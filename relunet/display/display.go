package display

import (
	"context"
	"encoding/base64"
	"fmt"
	"html"
	"os"
	"strings"

	"github.com/janpfeifer/gonb/gonbui"

	"github.com/relunet/relunet/relunet/data"
	"github.com/relunet/relunet/relunet/plots"
)

// InNotebook reports whether the program runs inside the GoNB kernel.
func InNotebook() bool { return gonbui.IsNotebook }

// Show shows the figure as a PNG image at its preferred size.
func Show(f *plots.Figure) error { return show(f, "png") }

// ShowSVG shows the figure as an SVG image.
func ShowSVG(f *plots.Figure) error { return show(f, "svg") }

func show(f *plots.Figure, format string) error {
	if !gonbui.IsNotebook {
		return nil
	}
	b, err := f.Render(format)
	if err != nil {
		return err
	}
	// Each display is followed by a Sync: a cell's program can exit before
	// GoNB has read what it sent, and the figure would be lost (seen on a
	// loaded machine).
	if format == "svg" {
		gonbui.DisplaySVG(string(b))
		gonbui.Sync()
		return nil
	}
	// A PNG of 144 dots per inch, shown at its size in points so that it
	// is sharp on high-density screens and no larger than a cell.
	w := int(f.Width.Points() * 96 / 72)
	gonbui.DisplayHTML(fmt.Sprintf(`<img src="data:image/png;base64,%s" style="width:%dpx;max-width:100%%" alt="figure"/>`,
		encode(b), w))
	gonbui.Sync()
	return nil
}

// Must returns v, or stops the cell when err is not nil: it prints the
// error on one line to standard error, where the notebook shows it, and
// exits with status 1. A notebook cell has no caller to return an error to.
func Must[T any](v T, err error) T {
	Check(err)
	return v
}

// Must2 is Must for functions that return two values and an error.
func Must2[A, B any](a A, b B, err error) (A, B) {
	Check(err)
	return a, b
}

// Check stops the cell, as Must does, when err is not nil.
func Check(err error) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "error: %s\n", strings.ReplaceAll(err.Error(), "\n", " "))
		os.Exit(1)
	}
}

// Load returns the named data set (see package data), fetching its files
// on first use and saying so on standard output; it stops the cell, as Must
// does, when the data cannot be had, with the command that fetches them.
func Load(name string) *data.Dataset {
	return Must((&data.Loader{Log: os.Stdout}).Load(context.Background(), name))
}

// Table shows a table as HTML in the notebook and always prints it as text
// to standard output, so that headless runs keep it in the cell output.
func Table(header []string, rows [][]string) {
	var sb strings.Builder
	sb.WriteString(`<table style="font-variant-numeric:tabular-nums"><tr>`)
	for _, h := range header {
		fmt.Fprintf(&sb, "<th>%s</th>", html.EscapeString(h))
	}
	sb.WriteString("</tr>")
	for _, r := range rows {
		sb.WriteString("<tr>")
		for _, c := range r {
			fmt.Fprintf(&sb, `<td style="text-align:right">%s</td>`, html.EscapeString(c))
		}
		sb.WriteString("</tr>")
	}
	sb.WriteString("</table>")
	if gonbui.IsNotebook {
		gonbui.DisplayHTML(sb.String())
		gonbui.Sync()
		return
	}
	fmt.Println(strings.Join(header, " | "))
	for _, r := range rows {
		fmt.Println(strings.Join(r, " | "))
	}
}

// Progress is a line of HTML that updates in place, for long cells. It uses
// plain display updates, not widgets, so it works in headless runs too.
type Progress struct {
	id    string
	total int
	label string
}

// NewProgress shows an empty progress line for total units of work.
func NewProgress(label string, total int) *Progress {
	p := &Progress{total: total, label: label}
	if gonbui.IsNotebook {
		p.id = gonbui.UniqueID()
		gonbui.UpdateHTML(p.id, p.html(0, ""))
	}
	return p
}

// Update shows that done units are finished, with a note.
func (p *Progress) Update(done int, note string) {
	if p.id != "" {
		gonbui.UpdateHTML(p.id, p.html(done, note))
	}
}

func (p *Progress) html(done int, note string) string {
	return fmt.Sprintf(`<div>%s: <progress value="%d" max="%d"></progress> %d/%d %s</div>`,
		html.EscapeString(p.label), done, p.total, done, p.total, html.EscapeString(note))
}

func encode(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
