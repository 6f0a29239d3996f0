package display

import (
	"fmt"
	"html"
	"strings"

	"github.com/janpfeifer/gonb/gonbui"
	"gonum.org/v1/plot"

	"github.com/relunet/relunet/relunet/plots"
)

// InNotebook reports whether the program runs inside the GoNB kernel.
func InNotebook() bool { return gonbui.IsNotebook }

// PNG shows p as a PNG image at the default size.
func PNG(p *plot.Plot) error { return show(p, "png") }

// SVG shows p as an SVG image at the default size.
func SVG(p *plot.Plot) error { return show(p, "svg") }

func show(p *plot.Plot, format string) error {
	if !gonbui.IsNotebook {
		return nil
	}
	b, err := plots.Render(p, plots.Width, plots.Height, format)
	if err != nil {
		return err
	}
	if format == "svg" {
		gonbui.DisplaySVG(string(b))
	} else {
		gonbui.DisplayPNG(b)
	}
	return nil
}

// Table shows a table as HTML in the notebook and always prints it as text
// to standard output, so that headless runs keep it in the cell output.
func Table(header []string, rows [][]string) {
	var sb strings.Builder
	sb.WriteString("<table><tr>")
	for _, h := range header {
		fmt.Fprintf(&sb, "<th>%s</th>", html.EscapeString(h))
	}
	sb.WriteString("</tr>")
	for _, r := range rows {
		sb.WriteString("<tr>")
		for _, c := range r {
			fmt.Fprintf(&sb, "<td>%s</td>", html.EscapeString(c))
		}
		sb.WriteString("</tr>")
	}
	sb.WriteString("</table>")
	gonbui.DisplayHTML(sb.String())
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
