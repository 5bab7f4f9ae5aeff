package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
	"time"

	gormadapter "github.com/ltikit/ltikit/adapters/gorm"
	"github.com/ltikit/ltikit/toolkey"
)

// The tool's signing keys, administered from the command line: list what
// the JWKS URL publishes, and rotate. The keys live in the database
// (ltikit_tool_keys), so a rotation here reaches every running node.
// Publish before use: the new key is published at once (every node's key
// set lists it within toolkey.DefaultCacheTTL) and signs only from a time
// recorded with it, the keyring's rotation delay later (cache TTL, the key
// set's max-age and a margin), so that every node and every platform has
// it before the first token it signs; 'keys rotate --now' is the emergency
// rotation that skips the wait. The previous key stays published for its
// grace period (toolkey.DefaultGrace) after it stops signing, so tokens
// signed just before still verify.

// keyJSON is one key of 'demo-tool keys list --json'.
type keyJSON struct {
	KID       string    `json:"kid"`
	Status    string    `json:"status"` // active, next (published, signs from active_from) or retired
	CreatedAt time.Time `json:"created_at"`
	// ActiveFrom is when a rotated-in key starts signing.
	ActiveFrom *time.Time `json:"active_from,omitempty"`
	RetiredAt  *time.Time `json:"retired_at,omitempty"`
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

// keysList prints the published keys, the active one first. It only
// reads: on a database that holds no key yet it says so and creates none
// (the JWKS URL, a launch or 'keys rotate' makes the first).
func keysList(ctx context.Context, args []string, getenv env, stdout io.Writer) error {
	f := newFlagSet("keys list")
	asJSON := f.fs.Bool("json", false, "print JSON")
	db := f.dbFlag()
	if err := f.parse(args, getenv); err != nil {
		return err
	}
	ctx, b, done, err := openForCLI(ctx, *db, readOnly)
	if err != nil {
		return err
	}
	defer done()
	has, err := hasKeys(ctx, b)
	if err != nil {
		return fmt.Errorf("keys list: %w", err)
	}
	if !has {
		if *asJSON {
			return printJSON(stdout, []keyJSON{})
		}
		fmt.Fprintln(stdout, "no signing keys yet: the tool makes its first when it serves its key set (the JWKS URL) or a launch, or with 'demo-tool keys rotate'")
		return nil
	}
	pub, err := b.ToolKeys().Published(ctx)
	if err != nil {
		return fmt.Errorf("keys list: %w", err)
	}
	return printKeys(stdout, pub, *asJSON)
}

// hasKeys reports whether the database holds a signing key. Published
// makes the first key when there is none; counting the keys that have not
// retired (one, once any key was made) does not.
func hasKeys(ctx context.Context, b backend) (bool, error) {
	var unretired int64
	err := b.recordsDB().WithContext(ctx).Raw("SELECT count(*) FROM " + gormadapter.ToolKeysTable + " WHERE retired_at IS NULL").Row().Scan(&unretired)
	return unretired > 0, err
}

// keysRotate makes a new key, published at once, that signs once every
// node and platform has had time to fetch it (at once with --now); the
// previous one stays published for its grace period.
func keysRotate(ctx context.Context, args []string, getenv env, stdout io.Writer) error {
	f := newFlagSet("keys rotate")
	now := f.fs.Bool("now", false, "emergency rotation: the new key signs at once, before platforms have fetched it")
	db := f.dbFlag()
	if err := f.parse(args, getenv); err != nil {
		return err
	}
	ctx, b, done, err := openForCLI(ctx, *db, readWrite)
	if err != nil {
		return err
	}
	defer done()
	store := b.ToolKeys()
	// A keyring with the servers' settings, so the delay is theirs.
	ring, err := toolkey.NewKeyring(store)
	if err != nil {
		return fmt.Errorf("keys rotate: %w", err)
	}
	// On a database without keys the rotation makes the first, which
	// signs at once.
	has, err := hasKeys(ctx, b)
	if err != nil {
		return fmt.Errorf("keys rotate: %w", err)
	}
	var before []toolkey.PublicKey
	if has {
		if before, err = store.Published(ctx); err != nil {
			return fmt.Errorf("keys rotate: %w", err)
		}
	}
	var opts []toolkey.RotateOption
	if *now {
		opts = append(opts, toolkey.Immediately())
	}
	if err := ring.Rotate(ctx, opts...); err != nil {
		return fmt.Errorf("keys rotate: %w", err)
	}
	pub, err := store.Published(ctx)
	if err != nil {
		return fmt.Errorf("keys rotate: %w", err)
	}
	nk, ok := newest(pub, before)
	if !ok {
		return fmt.Errorf("keys rotate: the new key is not published")
	}
	at := time.Now()
	switch {
	case len(before) == 0:
		fmt.Fprintf(stdout, "made the tool's first signing key: %s signs now.\n", nk.KID)
	case nk.SignsAt(at):
		fmt.Fprintf(stdout, "rotated: %s signs now; running servers switch to it within %s. "+
			"Platforms that cached the previous key set may refuse its tokens until they fetch it again.\n",
			nk.KID, toolkey.DefaultCacheTTL)
	default:
		fmt.Fprintf(stdout, "rotated: %s is published now and takes over signing at %s (in %s), "+
			"once every node and platform has fetched it; until then %s signs.\n",
			nk.KID, nk.ActiveFrom.UTC().Format(time.RFC3339), nk.ActiveFrom.Sub(at).Round(time.Second), pub[0].KID)
	}
	return printKeys(stdout, pub, false)
}

// newest returns the key of pub that is not in before.
func newest(pub, before []toolkey.PublicKey) (toolkey.PublicKey, bool) {
	for _, p := range pub {
		if !slices.ContainsFunc(before, func(b toolkey.PublicKey) bool { return b.KID == p.KID }) {
			return p, true
		}
	}
	return toolkey.PublicKey{}, false
}

// keyStatus is active (signs now), next (published, signs from its
// ActiveFrom) or retired (a key that waited when an emergency rotation
// came never signs).
func keyStatus(p toolkey.PublicKey, now time.Time) string {
	switch {
	case p.SignsAt(now):
		return "active"
	case p.RetiredAt.IsZero() && now.Before(p.ActiveFrom):
		return "next"
	}
	return "retired"
}

func printKeys(w io.Writer, pub []toolkey.PublicKey, asJSON bool) error {
	now := time.Now()
	if asJSON {
		out := make([]keyJSON, 0, len(pub))
		for _, p := range pub {
			k := keyJSON{KID: p.KID, Status: keyStatus(p, now), CreatedAt: p.CreatedAt.UTC()}
			if !p.ActiveFrom.IsZero() {
				from := p.ActiveFrom.UTC()
				k.ActiveFrom = &from
			}
			if !p.RetiredAt.IsZero() {
				retired, until := p.RetiredAt.UTC(), p.ExpiresAt.UTC()
				k.RetiredAt, k.PublishedUntil = &retired, &until
			}
			out = append(out, k)
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KID\tSTATUS\tCREATED\tSIGNS FROM\tSIGNS UNTIL\tPUBLISHED UNTIL")
	for _, p := range pub {
		from, until, published := "-", "-", "-"
		if !p.ActiveFrom.IsZero() {
			from = p.ActiveFrom.UTC().Format(time.RFC3339)
		}
		if !p.RetiredAt.IsZero() {
			until, published = p.RetiredAt.UTC().Format(time.RFC3339), p.ExpiresAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", p.KID, keyStatus(p, now), p.CreatedAt.UTC().Format(time.RFC3339), from, until, published)
	}
	return tw.Flush()
}
