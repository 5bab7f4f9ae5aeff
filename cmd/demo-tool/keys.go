package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/ltikit/ltikit/toolkey"
)

// The tool's signing keys, administered from the command line: list what
// the JWKS URL publishes, and rotate. The keys live in the database
// (ltikit_tool_keys), so a rotation here reaches every running node: each
// signs with the new key within toolkey.DefaultCacheTTL, and the previous
// key stays published for its grace period (toolkey.DefaultGrace), so
// tokens signed just before the rotation still verify.

// keyJSON is one key of 'demo-tool keys list --json'.
type keyJSON struct {
	KID       string     `json:"kid"`
	Status    string     `json:"status"` // active or retired
	CreatedAt time.Time  `json:"created_at"`
	RetiredAt *time.Time `json:"retired_at,omitempty"`
	// PublishedUntil is when a retired key leaves the key set.
	PublishedUntil *time.Time `json:"published_until,omitempty"`
}

func keysCommand(ctx context.Context, args []string, getenv env, stdout io.Writer) error {
	if len(args) == 0 {
		return usagef("keys: want a subcommand: list or rotate")
	}
	switch args[0] {
	case "list":
		return keysList(ctx, args[1:], getenv, stdout)
	case "rotate":
		return keysRotate(ctx, args[1:], getenv, stdout)
	}
	return usagef("keys: unknown subcommand %q: want list or rotate", args[0])
}

// keysList prints the published keys, the active one first. Like the JWKS
// URL, it creates the first key when the database holds none.
func keysList(ctx context.Context, args []string, getenv env, stdout io.Writer) error {
	f := newFlagSet("keys list")
	asJSON := f.fs.Bool("json", false, "print JSON")
	db := f.dbFlag()
	if err := f.parse(args, getenv); err != nil {
		return err
	}
	ctx, b, done, err := openForCLI(ctx, *db)
	if err != nil {
		return err
	}
	defer done()
	pub, err := b.ToolKeys().Published(ctx)
	if err != nil {
		return fmt.Errorf("keys list: %w", err)
	}
	return printKeys(stdout, pub, *asJSON)
}

// keysRotate makes a new key active; the previous one stays published for
// its grace period.
func keysRotate(ctx context.Context, args []string, getenv env, stdout io.Writer) error {
	f := newFlagSet("keys rotate")
	db := f.dbFlag()
	if err := f.parse(args, getenv); err != nil {
		return err
	}
	ctx, b, done, err := openForCLI(ctx, *db)
	if err != nil {
		return err
	}
	defer done()
	store := b.ToolKeys()
	if err := store.Rotate(ctx); err != nil {
		return fmt.Errorf("keys rotate: %w", err)
	}
	active, err := store.Active(ctx)
	if err != nil {
		return fmt.Errorf("keys rotate: %w", err)
	}
	fmt.Fprintf(stdout, "rotated: %s signs now; running servers switch to it within %s\n",
		active.KID(), toolkey.DefaultCacheTTL)
	pub, err := store.Published(ctx)
	if err != nil {
		return fmt.Errorf("keys rotate: %w", err)
	}
	return printKeys(stdout, pub, false)
}

func printKeys(w io.Writer, pub []toolkey.PublicKey, asJSON bool) error {
	if asJSON {
		out := make([]keyJSON, 0, len(pub))
		for _, p := range pub {
			k := keyJSON{KID: p.KID, Status: "active", CreatedAt: p.CreatedAt.UTC()}
			if !p.RetiredAt.IsZero() {
				retired, until := p.RetiredAt.UTC(), p.ExpiresAt.UTC()
				k.Status, k.RetiredAt, k.PublishedUntil = "retired", &retired, &until
			}
			out = append(out, k)
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KID\tSTATUS\tCREATED\tPUBLISHED UNTIL")
	for _, p := range pub {
		status, until := "active", "-"
		if !p.RetiredAt.IsZero() {
			status, until = "retired", p.ExpiresAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", p.KID, status, p.CreatedAt.UTC().Format(time.RFC3339), until)
	}
	return tw.Flush()
}
