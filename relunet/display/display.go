package display

import (
	"context"
	"fmt"
	"html"
	"os"
	"os/signal"
	"strings"

	"github.com/janpfeifer/gonb/gonbui"
	"github.com/janpfeifer/gonb/gonbui/protocol"

	"github.com/relunet/relunet/relunet/data"
	"github.com/relunet/relunet/relunet/plots"
)

// InNotebook reports whether the program runs inside the GoNB kernel.
func InNotebook() bool { return gonbui.IsNotebook }

// Context returns a context that ends when the cell is interrupted (the
// kernel's interrupt sends the cell's program SIGINT), so that a solver or
// a comparison made with it stops within about a second.
func Context() context.Context {
	ctx, _ := signal.NotifyContext(context.Background(), os.Interrupt)
	return ctx
}

// Show shows a figure made by package plots as a PNG image, or stops the
// cell, as Must does, with the error of making it:
//
//	display.Show(plots.Lines(axes, series...))
//
// The image is a standard image/png output, which every notebook viewer
// shows, of 144 dots per inch, shown at its size in points so that it is
// sharp on high-density screens and no larger than a cell.
func Show(f *plots.Figure, err error) {
	Check(err)
	if !gonbui.IsNotebook {
		return
	}
	b, err := f.Render("png")
	Check(err)
	gonbui.SendData(&protocol.DisplayData{
		Data: map[protocol.MIMEType]any{protocol.MIMEImagePNG: b},
		// A map[string]int, one of the types GoNB's pipe can carry.
		Metadata: map[string]any{string(protocol.MIMEImagePNG): map[string]int{"width": int(f.Width.Points() * 96 / 72)}},
	})
	// A cell's program can exit before GoNB has read what it sent, and the
	// figure would be lost (seen on a loaded machine).
	gonbui.Sync()
}

// Must returns v, or stops the cell when err is not nil: it prints the
// error on one line to standard error, where the notebook shows it, and
// exits with status 1. A notebook cell has no caller to return an error to.
func Must[T any](v T, err error) T {
	Check(err)
	return v
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
	return Must((&data.Loader{Log: os.Stdout}).Load(Context(), name))
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
