package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/relunet/relunet/relunet/data"
)

func dataCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	switch {
	case len(args) == 1 && args[0] == "list":
		return dataList(stdout)
	case len(args) >= 2 && args[0] == "fetch":
		names := args[1:]
		if len(names) == 1 && names[0] == "all" {
			names = fetchAll()
		}
		for _, name := range names {
			s, ok := data.Lookup(name)
			if !ok || s.Kind != data.Reference {
				return usagef("data fetch: %q is not a reference data set (%s, or all)", name, strings.Join(data.Names(data.Reference), ", "))
			}
		}
		l := &data.Loader{Log: prefixed{stderr}}
		for _, name := range names {
			s, _ := data.Lookup(name)
			dir, err := l.Ensure(ctx, s)
			if err != nil {
				return err
			}
			how := "verified"
			for _, f := range s.Files {
				if f.SHA256 == "" {
					how = "no SHA-256 is published: checked against the one recorded on its first download, if any"
				}
			}
			fmt.Fprintf(stdout, "%s: in %s (%s)\n", name, dir, how)
		}
		return nil
	}
	return usagef("data: want 'data list' or 'data fetch NAME... | all'")
}

// fetchAll returns the sets that 'data fetch all' fetches: every reference
// set but year, a 200 MB download that only its own name fetches.
func fetchAll() []string {
	var names []string
	for _, name := range data.Names(data.Reference) {
		if name != "year" {
			names = append(names, name)
		}
	}
	return names
}

func dataList(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "name\tkind\twhere\tabout")
	l := &data.Loader{}
	var notes []string
	for _, s := range data.Sources() {
		where := "generated, no download"
		if s.Kind == data.Reference {
			where = "missing: relunet data fetch " + s.Name
			if dir, ok := l.Locate(s); ok {
				where = "in " + dir
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Name, s.Kind, where, s.About)
		for _, f := range s.Files {
			if f.SHA256 != "" {
				continue
			}
			note := "not yet recorded: it will be on its first download (a local copy is used as it is)"
			if sum, ok := l.Recorded(f); ok {
				note = "recorded on its first download as " + sum + ", checked on every load since"
			}
			notes = append(notes, fmt.Sprintf("%s: %s (%s) has no published SHA-256; its digest is %s.", s.Name, f.Path, f.URL, note))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nReference files come from their public sources, at pinned revisions where there are any, each checked\n"+
		"against its published size and SHA-256 before use; $%s (directories, like PATH) is searched first, then\n"+
		"the cache; $%s names a mirror. 'relunet data fetch all' fetches every set but year (200 MB).\n", data.EnvDir, data.EnvURL)
	for _, n := range notes {
		fmt.Fprintln(w, n)
	}
	return nil
}
