package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// configWrap is the width the config command wraps its prose at.
const configWrap = 100

// maxAlignedLabel is the longest label whose value is printed on the same
// line; a longer one gets its value on the next line.
const maxAlignedLabel = 46

// configCommand runs 'demo-tool config [--lms NAME] [--base-url URL]
// [--json]': what to enter in an LMS to register the tool at the base URL,
// and what to bring back to the tool.
func configCommand(_ context.Context, args []string, getenv env, stdout io.Writer) error {
	f := newFlagSet("config")
	lms := f.fs.String("lms", "generic", "the LMS: "+strings.Join(lmsIDs, ", "))
	baseURL := f.fs.String("base-url", "http://"+defaultAddr, "the tool's public base URL, as 'serve --base-url' has it")
	f.fromEnv("base-url", "LTIKIT_BASE_URL")
	asJSON := f.fs.Bool("json", false, "print JSON")
	problems := &checker{}
	if err := f.parseInto(problems, args, getenv); err != nil {
		return err
	}
	base, err := checkBaseURL(f.name("base-url"), *baseURL)
	if err != nil {
		problems.fail("%s", err.Error())
	}
	c, ok := newLMSConfig(strings.ToLower(*lms), base)
	if !ok {
		problems.fail("unknown --lms %q: want one of %s", *lms, strings.Join(lmsIDs, ", "))
	}
	if err := problems.err("config"); err != nil {
		return err
	}
	if *asJSON {
		return writeConfigJSON(stdout, c)
	}
	_, err = io.WriteString(stdout, configText(c))
	return err
}

// writeConfigJSON writes c as indented JSON.
func writeConfigJSON(w io.Writer, c *lmsConfig) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(c)
}

// configText is c as the config command prints it: plain text, the same
// on every run for the same LMS and base URL (the guides embed it).
func configText(c *lmsConfig) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Register %s in %s\n", toolTitle, c.Name)
	writeWrapped(&b, "Where: ", c.Where)
	for _, s := range c.Sections {
		fmt.Fprintf(&b, "\n%s\n", s.Title)
		writeFields(&b, s.Fields)
	}

	b.WriteString("\nThen bring these values back to the tool\n")
	writeWrapped(&b, "  ", "From "+c.ReturnsWhere+":")
	returns := make([]lmsField, 0, len(c.Returns))
	for _, r := range c.Returns {
		v := r.Flag
		if r.Value != "" {
			v += " " + r.Value
		}
		returns = append(returns, lmsField{Label: r.Label, Value: v})
	}
	writeFields(&b, returns)
	b.WriteString("\n")
	for line := range strings.SplitSeq(c.Command, "\n") {
		b.WriteString("  " + line + "\n")
	}

	b.WriteString("\nDynamic Registration URL (if your LMS supports it)\n")
	b.WriteString("  " + c.DynamicRegistration.URL + "\n")
	if c.DynamicRegistration.Where != "" {
		writeWrapped(&b, "  ", "In "+c.Name+": "+c.DynamicRegistration.Where+".")
	}
	writeWrapped(&b, "  ", c.DynamicRegistration.Note)

	if len(c.Notes) > 0 {
		b.WriteString("\nNotes\n")
		for _, n := range c.Notes {
			writeWrapped(&b, "  - ", n)
		}
	}
	return b.String()
}

// writeFields writes label-value lines, the values aligned.
func writeFields(b *strings.Builder, fields []lmsField) {
	width := 0
	for _, f := range fields {
		if n := utf8.RuneCountInString(f.Label); n <= maxAlignedLabel && n > width {
			width = n
		}
	}
	for _, f := range fields {
		n := utf8.RuneCountInString(f.Label)
		if n > maxAlignedLabel {
			fmt.Fprintf(b, "  %s\n  %s  %s\n", f.Label, strings.Repeat(" ", width), f.Value)
			continue
		}
		fmt.Fprintf(b, "  %s%s  %s\n", f.Label, strings.Repeat(" ", width-n), f.Value)
	}
}

// writeWrapped writes text wrapped at configWrap columns, the first line
// after prefix and the others indented as deep.
func writeWrapped(b *strings.Builder, prefix, text string) {
	indent := strings.Repeat(" ", utf8.RuneCountInString(prefix))
	line, col := prefix, utf8.RuneCountInString(prefix)
	empty := true
	for word := range strings.FieldsSeq(text) {
		n := utf8.RuneCountInString(word)
		if !empty && col+1+n > configWrap {
			b.WriteString(line + "\n")
			line, col, empty = indent, len(indent), true
		}
		if !empty {
			line += " "
			col++
		}
		line += word
		col += n
		empty = false
	}
	b.WriteString(line + "\n")
}
