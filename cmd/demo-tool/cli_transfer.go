package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ltikit/ltikit/registration"
	"github.com/ltikit/ltikit/storage"
)

// exportVersion is the version of the export format: 'export' writes it,
// 'import' reads only it.
const exportVersion = 1

// maxImportSize bounds the document 'import' reads.
const maxImportSize = 16 << 20

// exportDoc is the document 'export' writes and 'import' reads:
//
//	{"version": 1, "platforms": [platformJSON, ...]}
//
// with the platforms ordered by issuer then client_id and each one's
// deployments in byte order (the order storage.Registrar lists them in),
// so that exporting the same registrations gives the same bytes.
type exportDoc struct {
	// Version is exportVersion.
	Version int `json:"version"`
	// Platforms are the registrations with their deployments.
	Platforms []platformJSON `json:"platforms"`
}

// encodeExport is the export document of entries, indented, ending in a
// newline.
func encodeExport(entries []storage.Entry) ([]byte, error) {
	doc := exportDoc{Version: exportVersion, Platforms: make([]platformJSON, 0, len(entries))}
	for _, e := range entries {
		p, err := toPlatformJSON(e)
		if err != nil {
			return nil, err
		}
		doc.Platforms = append(doc.Platforms, p)
	}
	var buf bytes.Buffer
	if err := printJSON(&buf, doc); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func exportCmd(ctx context.Context, args []string, getenv env, stdout io.Writer) error {
	const cmd = "export"
	f := newFlagSet(cmd)
	out := f.fs.String("out", "-", "the file to write, - for standard output")
	db := f.dbFlag()
	c := &checker{}
	if err := f.parseInto(c, args, getenv); err != nil {
		return err
	}
	if *out == "" {
		c.fail("--out is empty: give a file, or - for standard output")
	}
	if err := c.err(cmd); err != nil {
		return err
	}
	entries, err := readRegistrations(ctx, cmd, *db)
	if err != nil {
		return err
	}
	data, err := encodeExport(entries)
	if err != nil {
		return fmt.Errorf("%s: %w", cmd, err)
	}
	if *out == "-" {
		_, err := stdout.Write(data)
		return err
	}
	if err := writeFileAtomic(*out, data); err != nil {
		return fmt.Errorf("%s: %w", cmd, err)
	}
	deps := 0
	for _, e := range entries {
		deps += len(e.Deployments)
	}
	fmt.Fprintf(stdout, "exported %d platform(s) with %d deployment(s) to %s\n", len(entries), deps, *out)
	return nil
}

// writeFileAtomic writes data to a new file beside path and renames it
// over path, so path is never left half written.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a successful rename: nothing to remove
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// readImport reads the document named in (a file, or - for stdin),
// at most maxImportSize bytes.
func readImport(in string, stdin io.Reader) ([]byte, error) {
	r := stdin
	if in != "-" {
		f, err := os.Open(in)
		if err != nil {
			return nil, usagef("import: %v", err)
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, maxImportSize+1))
	if err != nil {
		return nil, usagef("import: reading %s: %v", inputName(in), err)
	}
	if len(data) > maxImportSize {
		return nil, usagef("import: %s is larger than %d MiB", inputName(in), maxImportSize>>20)
	}
	return data, nil
}

func inputName(in string) string {
	if in == "-" {
		return "standard input"
	}
	return in
}

// decodeImport parses an export document strictly: one JSON object of
// version exportVersion, no unknown field (a misspelt field would
// otherwise be dropped without a word), nothing after it.
func decodeImport(name string, data []byte) ([]platformJSON, error) {
	var doc struct {
		Version   *int           `json:"version"`
		Platforms []platformJSON `json:"platforms"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return nil, usagef("import: %s is not an export document: %v", name, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, usagef("import: %s has more after its JSON document", name)
	}
	switch {
	case doc.Version == nil:
		return nil, usagef(`import: %s has no version: want {"version":%d,"platforms":[...]} as 'demo-tool export' writes it`, name, exportVersion)
	case *doc.Version != exportVersion:
		return nil, usagef("import: %s is of version %d; this demo-tool reads version %d", name, *doc.Version, exportVersion)
	}
	return doc.Platforms, nil
}

// importStep is one write of an import, with how to undo it.
type importStep struct {
	do, undo func(context.Context) error
}

func importCmd(ctx context.Context, args []string, getenv env, stdin io.Reader, stdout, stderr io.Writer) error {
	const cmd = "import"
	f := newFlagSet(cmd)
	in := f.fs.String("in", "", "the file to read, - for standard input")
	replace := f.fs.Bool("replace", false, "overwrite registrations whose settings differ from the file's")
	db := f.dbFlag()
	c := &checker{}
	if err := f.parseInto(c, args, getenv); err != nil {
		return err
	}
	c.require("--in (a file written by 'demo-tool export', or - for standard input)", *in)
	if err := c.err(cmd); err != nil {
		return err
	}
	data, err := readImport(*in, stdin)
	if err != nil {
		return err
	}
	name := inputName(*in)
	platforms, err := decodeImport(name, data)
	if err != nil {
		return err
	}

	// Everything is checked, and every problem reported, before the
	// database is opened.
	regs := make([]registration.Registration, len(platforms))
	seen := map[registration.Key]int{}
	for i, p := range platforms {
		field := func(f string) string { return fmt.Sprintf("platforms[%d].%s", i, f) }
		regs[i] = checkPlatform(c, field, p)
		key := registration.Key{Issuer: p.Issuer, ClientID: p.ClientID}
		if j, ok := seen[key]; ok {
			c.fail("platforms[%d] repeats the issuer %q and client_id %q of platforms[%d]", i, p.Issuer, p.ClientID, j)
		}
		seen[key] = i
	}
	if err := c.err(cmd + ": " + name); err != nil {
		return err
	}
	c.printWarnings(stderr)

	ctx, b, done, err := openForCLI(ctx, *db, readWrite)
	if err != nil {
		return err
	}
	defer done()
	entries, err := b.Registrations(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", cmd, err)
	}
	stored := map[registration.Key]storage.Entry{}
	for _, e := range entries {
		stored[e.Registration.Key()] = e
	}

	// The plan: what to create, what is there already, what differs.
	var (
		steps                    []importStep
		added, skipped, replaced int
		depsAdded                int
		conflicts                []string
	)
	for i, p := range platforms {
		reg, key := regs[i], regs[i].Key()
		old, ok := stored[key]
		if !ok {
			added++
			depsAdded += len(p.Deployments)
			steps = append(steps, importStep{
				do:   func(ctx context.Context) error { return b.CreateRegistration(ctx, reg, p.Deployments...) },
				undo: func(ctx context.Context) error { return b.DeleteRegistration(ctx, key) },
			})
			continue
		}
		var missing []string
		for _, id := range p.Deployments {
			if !slices.Contains(old.Deployments, id) {
				missing = append(missing, id)
			}
		}
		depsAdded += len(missing)
		diffs := differences(old.Registration, reg)
		if len(diffs) == 0 {
			skipped++
			for _, id := range missing {
				steps = append(steps, importStep{
					do:   func(ctx context.Context) error { return b.CreateDeployment(ctx, key, id) },
					undo: func(ctx context.Context) error { return b.DeleteDeployment(ctx, key, id) },
				})
			}
			continue
		}
		conflicts = append(conflicts, fmt.Sprintf("issuer %q client_id %q: %s", key.Issuer, key.ClientID, strings.Join(diffs, ", ")))
		replaced++
		// The registration takes the file's settings and keeps every
		// deployment it had: an import adds deployments, never removes one.
		deps := slices.Sorted(slices.Values(append(slices.Clone(old.Deployments), missing...)))
		oldReg, oldDeps := old.Registration, old.Deployments
		steps = append(steps, importStep{
			do: func(ctx context.Context) error {
				if err := b.DeleteRegistration(ctx, key); err != nil {
					return err
				}
				if err := b.CreateRegistration(ctx, reg, deps...); err != nil {
					// Put the old one back before reporting.
					return errors.Join(err, b.CreateRegistration(ctx, oldReg, oldDeps...))
				}
				return nil
			},
			undo: func(ctx context.Context) error {
				if err := b.DeleteRegistration(ctx, key); err != nil {
					return err
				}
				return b.CreateRegistration(ctx, oldReg, oldDeps...)
			},
		})
	}
	if len(conflicts) > 0 && !*replace {
		return fmt.Errorf("%s: %s: %d platform(s) differ from the database, nothing written (--replace overwrites them): %s",
			cmd, name, len(conflicts), strings.Join(conflicts, "; "))
	}

	// The Registrar has no transaction over several calls: on a failure
	// the writes already made are undone, newest first.
	for i, s := range steps {
		if err := s.do(ctx); err != nil {
			undoCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			var undoErrs []error
			for j := i - 1; j >= 0; j-- {
				if uerr := steps[j].undo(undoCtx); uerr != nil {
					undoErrs = append(undoErrs, uerr)
				}
			}
			if len(undoErrs) > 0 {
				return fmt.Errorf("%s: %w; undoing the %d write(s) before it failed too, the database holds part of the import: %w",
					cmd, err, i, errors.Join(undoErrs...))
			}
			return fmt.Errorf("%s: %w; nothing written", cmd, err)
		}
	}
	msg := fmt.Sprintf("imported %s: %d platform(s) added, %d skipped (identical), %d replaced; %d deployment(s) added",
		name, added, skipped, replaced, depsAdded)
	if replaced > 0 {
		msg += fmt.Sprintf("; running servers use the replaced settings within their --lookup-cache time (default %s)", defaultLookupCache)
	}
	fmt.Fprintln(stdout, msg)
	return nil
}

// differences lists the settings in which the stored registration a and
// the imported b differ (deployments aside), as "field: stored → file".
func differences(a, b registration.Registration) []string {
	var out []string
	diff := func(field, x, y string) {
		if x != y {
			out = append(out, fmt.Sprintf("%s %q in the database, %q in the file", field, x, y))
		}
	}
	diff("auth_url", a.AuthEndpoint, b.AuthEndpoint)
	diff("token_url", a.TokenEndpoint, b.TokenEndpoint)
	diff("token_audience", a.TokenAudience, b.TokenAudience)
	diff("jwks_url", a.KeySetURL, b.KeySetURL)
	if !sameKeySet(a, b) {
		out = append(out, "key_set differs")
	}
	return out
}

// sameKeySet reports whether a and b have the same static key set (or
// none), compared by their JSON encoding.
func sameKeySet(a, b registration.Registration) bool {
	if a.KeySet == nil || b.KeySet == nil {
		return a.KeySet == nil && b.KeySet == nil
	}
	x, err1 := json.Marshal(a.KeySet)
	y, err2 := json.Marshal(b.KeySet)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}
