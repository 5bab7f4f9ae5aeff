package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/ltikit/ltikit/deployment"
	"github.com/ltikit/ltikit/registration"
	"github.com/ltikit/ltikit/storage"
)

// cliTimeout bounds one administrative command's database work.
const cliTimeout = 30 * time.Second

// access is what an administrative command does with the database.
type access int

const (
	// readWrite commands create the file and the tables if needed.
	readWrite access = iota
	// readOnly commands only read: they open an SQLite file read-only, so
	// they work on a file and directory the user may not write, and they
	// create neither a file nor a table (nor a signing key).
	readOnly
)

// openForCLI opens the database for an administrative command, whose
// database work ctx bounds to cliTimeout: no sweeper, logs discarded
// (errors are returned). done closes the database and ends the bound.
func openForCLI(ctx context.Context, dsn string, mode access) (_ context.Context, _ backend, done func(), _ error) {
	ctx, cancel := context.WithTimeout(ctx, cliTimeout)
	b, err := openStore(ctx, dsn, slog.New(slog.DiscardHandler), storeOptions{readOnly: mode == readOnly})
	if err != nil {
		cancel()
		return nil, nil, nil, err
	}
	return ctx, b, func() { b.Close(); cancel() }, nil
}

// platformJSON is one registration with its deployment ids, as 'platform
// list --json' and 'platform show --json' print it and as 'export' writes
// it (and 'import' reads it). Exactly one of JWKSURL and KeySet is set.
type platformJSON struct {
	// Issuer is the platform's issuer (iss).
	Issuer string `json:"issuer"`
	// ClientID is the client_id the platform issued to the tool.
	ClientID string `json:"client_id"`
	// AuthURL is the platform's OIDC authorization endpoint.
	AuthURL string `json:"auth_url"`
	// TokenURL is the platform's OAuth 2 token endpoint; empty for a
	// launch-only registration.
	TokenURL string `json:"token_url,omitempty"`
	// TokenAudience is the aud of the tool's client assertions when it is
	// not TokenURL.
	TokenAudience string `json:"token_audience,omitempty"`
	// JWKSURL is the platform's key set URL.
	JWKSURL string `json:"jwks_url,omitempty"`
	// KeySet is a static key set (a JWK Set, RFC 7517 §5) of public keys,
	// for a platform that publishes no key set URL.
	KeySet json.RawMessage `json:"key_set,omitempty"`
	// Deployments are the deployment ids, in byte order.
	Deployments []string `json:"deployments"`
}

// readRegistrations lists every registration of the database dsn names,
// opened read-only for the command cmd (the read-only commands' one read).
func readRegistrations(ctx context.Context, cmd, dsn string) ([]storage.Entry, error) {
	ctx, b, done, err := openForCLI(ctx, dsn, readOnly)
	if err != nil {
		return nil, err
	}
	defer done()
	entries, err := b.Registrations(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cmd, err)
	}
	return entries, nil
}

// toPlatformJSON is e as printed and exported.
func toPlatformJSON(e storage.Entry) (platformJSON, error) {
	r := e.Registration
	p := platformJSON{
		Issuer: r.Issuer, ClientID: r.ClientID, AuthURL: r.AuthEndpoint, TokenURL: r.TokenEndpoint,
		TokenAudience: r.TokenAudience, JWKSURL: r.KeySetURL, Deployments: append([]string{}, e.Deployments...),
	}
	if r.KeySet != nil {
		raw, err := json.Marshal(r.KeySet)
		if err != nil {
			return p, fmt.Errorf("the key set of issuer %q and client_id %q: %w", r.Issuer, r.ClientID, err)
		}
		p.KeySet = raw
	}
	return p, nil
}

// flagName names a platformJSON field by its platform add flag.
func flagName(field string) string {
	if field == "deployments" {
		return "--deployment-id"
	}
	return "--" + strings.ReplaceAll(field, "_", "-")
}

// checkPlatform checks every field of p, naming each with name, and
// returns the registration it describes (usable only when c found nothing
// wrong).
func checkPlatform(c *checker, name func(field string) string, p platformJSON) registration.Registration {
	before := len(c.missing) + len(c.problems)
	c.issuer(name("issuer"), p.Issuer)
	c.text(name("client_id"), p.ClientID)
	c.url(name("auth_url"), p.AuthURL, true)
	c.url(name("token_url"), p.TokenURL, false)
	if p.TokenAudience != "" && c.printable(name("token_audience"), p.TokenAudience) && p.TokenURL == "" {
		c.fail("%s is set without %s", name("token_audience"), name("token_url"))
	}
	reg := registration.Registration{
		Issuer: p.Issuer, ClientID: p.ClientID, AuthEndpoint: p.AuthURL, TokenEndpoint: p.TokenURL,
		TokenAudience: p.TokenAudience, KeySetURL: p.JWKSURL,
	}
	hasSet := len(p.KeySet) > 0 && !bytes.Equal(p.KeySet, []byte("null"))
	switch {
	case hasSet && p.JWKSURL != "":
		c.fail("%s and %s are both set: a registration has one of them", name("jwks_url"), name("key_set"))
	case hasSet:
		reg.KeySet = c.keySet(name("key_set"), p.KeySet)
	default:
		c.url(name("jwks_url"), p.JWKSURL, true)
	}
	c.deploymentIDs(name("deployments"), p.Deployments)
	if len(c.missing)+len(c.problems) == before {
		// What the library itself requires, should it ask more than the
		// checks above.
		if err := reg.Validate(); err != nil {
			c.fail("%v", err)
		}
	}
	return reg
}

// keySet parses a static key set: a JWK Set of public keys only.
func (c *checker) keySet(name string, raw []byte) jwk.Set {
	set, err := jwk.Parse(raw)
	if err != nil {
		c.fail("%s is not a JWK set: %v", name, err)
		return nil
	}
	if set.Len() == 0 {
		c.fail("%s has no keys", name)
		return nil
	}
	for i := range set.Len() {
		k, _ := set.Key(i)
		if _, ok := k.(jwk.SymmetricKey); ok {
			c.fail("%s key %d is a symmetric key: a platform's key set holds public keys", name, i)
			return nil
		}
		if private, err := jwk.IsPrivateKey(k); err != nil || private {
			c.fail("%s key %d is a private key: a platform's key set holds its public keys only", name, i)
			return nil
		}
	}
	return set
}

// matching returns the entries of issuer, and of clientID unless it is
// empty.
func matching(entries []storage.Entry, issuer, clientID string) []storage.Entry {
	var out []storage.Entry
	for _, e := range entries {
		if e.Registration.Issuer == issuer && (clientID == "" || e.Registration.ClientID == clientID) {
			out = append(out, e)
		}
	}
	return out
}

// errUnknownPlatform is the failure for a registration that is not stored.
func errUnknownPlatform(cmd, issuer, clientID string) error {
	if clientID == "" {
		return fmt.Errorf("%s: no platform with issuer %q is registered", cmd, issuer)
	}
	return fmt.Errorf("%s: no platform with issuer %q and client_id %q is registered", cmd, issuer, clientID)
}

// cacheNote says when running servers see a removal: the lookup cache
// (storage.CacheLookups, --lookup-cache) keeps what it found that long.
func cacheNote(what string) string {
	return fmt.Sprintf("running servers stop accepting launches for %s within their --lookup-cache time (default %s)", what, defaultLookupCache)
}

// printJSON writes v as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func platformAdd(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	const cmd = "platform add"
	f := newFlagSet(cmd)
	var p platformJSON
	f.fs.StringVar(&p.Issuer, "issuer", "", "the platform's issuer (iss)")
	f.fs.StringVar(&p.ClientID, "client-id", "", "the client_id the platform issued to the tool")
	f.fs.StringVar(&p.AuthURL, "auth-url", "", "the platform's OIDC authorization endpoint")
	f.fs.StringVar(&p.JWKSURL, "jwks-url", "", "the platform's JWKS URL")
	f.fs.StringVar(&p.TokenURL, "token-url", "", "the platform's OAuth 2 token endpoint (optional)")
	f.fs.StringVar(&p.TokenAudience, "token-audience", "", "the aud of client assertions, when not the token URL (optional)")
	var deps repeated
	f.fs.Var(&deps, "deployment-id", "a deployment_id (repeatable)")
	// The flag's name before --deployment-id was the name everywhere;
	// kept working, no longer documented.
	f.fs.Var(&deps, "deployment", "deprecated: --deployment-id")
	db := f.dbFlag()
	c := &checker{}
	if err := f.parseInto(c, args, getenv); err != nil {
		return err
	}
	p.Deployments = deps
	reg := checkPlatform(c, flagName, p)
	if err := c.err(cmd); err != nil {
		return err
	}
	c.printWarnings(stderr)

	ctx, b, done, err := openForCLI(ctx, *db, readWrite)
	if err != nil {
		return err
	}
	defer done()
	switch err := b.CreateRegistration(ctx, reg, deps...); {
	case errors.Is(err, storage.ErrExists):
		return fmt.Errorf("%s: a platform with issuer %q and client_id %q is already registered", cmd, reg.Issuer, reg.ClientID)
	case err != nil:
		return fmt.Errorf("%s: %w", cmd, err)
	}
	fmt.Fprintf(stdout, "added platform %s (client_id %s) with %d deployment(s)\n", reg.Issuer, reg.ClientID, len(deps))
	return nil
}

func platformList(ctx context.Context, args []string, getenv env, stdout io.Writer) error {
	f := newFlagSet("platform list")
	asJSON := f.fs.Bool("json", false, "print JSON")
	db := f.dbFlag()
	if err := f.parse(args, getenv); err != nil {
		return err
	}
	entries, err := readRegistrations(ctx, "platform list", *db)
	if err != nil {
		return err
	}
	if *asJSON {
		out := make([]platformJSON, 0, len(entries))
		for _, e := range entries {
			p, err := toPlatformJSON(e)
			if err != nil {
				return fmt.Errorf("platform list: %w", err)
			}
			out = append(out, p)
		}
		return printJSON(stdout, out)
	}
	if len(entries) == 0 {
		fmt.Fprintln(stdout, "no platforms registered; add one with 'demo-tool platform add' or 'demo-tool import'")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ISSUER\tCLIENT ID\tAUTH URL\tJWKS URL\tDEPLOYMENTS")
	for _, e := range entries {
		r := e.Registration
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Issuer, r.ClientID, r.AuthEndpoint, keySetText(r), orDash(strings.Join(e.Deployments, ",")))
	}
	return tw.Flush()
}

// keySetText is where a registration's keys come from, for a person.
func keySetText(r registration.Registration) string {
	if r.KeySet != nil {
		return fmt.Sprintf("(static key set, %d key(s))", r.KeySet.Len())
	}
	return r.KeySetURL
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func platformShow(ctx context.Context, args []string, getenv env, stdout io.Writer) error {
	const cmd = "platform show"
	f := newFlagSet(cmd)
	issuer := f.fs.String("issuer", "", "the platform's issuer (iss)")
	clientID := f.fs.String("client-id", "", "the client_id, when the issuer has several registrations")
	asJSON := f.fs.Bool("json", false, "print JSON")
	db := f.dbFlag()
	c := &checker{}
	if err := f.parseInto(c, args, getenv); err != nil {
		return err
	}
	c.text("--issuer", *issuer)
	if *clientID != "" {
		c.printable("--client-id", *clientID)
	}
	if err := c.err(cmd); err != nil {
		return err
	}
	entries, err := readRegistrations(ctx, cmd, *db)
	if err != nil {
		return err
	}
	found := matching(entries, *issuer, *clientID)
	switch {
	case len(found) == 0:
		return errUnknownPlatform(cmd, *issuer, *clientID)
	case len(found) > 1:
		ids := make([]string, len(found))
		for i, e := range found {
			ids[i] = fmt.Sprintf("%q", e.Registration.ClientID)
		}
		return usagef("%s: issuer %q has %d registrations, with client_id %s: choose one with --client-id",
			cmd, *issuer, len(found), strings.Join(ids, ", "))
	}
	p, err := toPlatformJSON(found[0])
	if err != nil {
		return fmt.Errorf("%s: %w", cmd, err)
	}
	if *asJSON {
		return printJSON(stdout, p)
	}
	r := found[0].Registration
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "issuer\t%s\n", r.Issuer)
	fmt.Fprintf(tw, "client id\t%s\n", r.ClientID)
	fmt.Fprintf(tw, "auth URL\t%s\n", r.AuthEndpoint)
	fmt.Fprintf(tw, "token URL\t%s\n", orDash(r.TokenEndpoint))
	if r.TokenAudience != "" {
		fmt.Fprintf(tw, "token audience\t%s\n", r.TokenAudience)
	}
	if r.KeySet != nil {
		fmt.Fprintf(tw, "key set\t%s\n", keySetText(r))
	} else {
		fmt.Fprintf(tw, "JWKS URL\t%s\n", r.KeySetURL)
	}
	fmt.Fprintf(tw, "deployments\t%s\n", orDash(strings.Join(found[0].Deployments, ", ")))
	return tw.Flush()
}

func platformRemove(ctx context.Context, args []string, getenv env, stdout io.Writer) error {
	const cmd = "platform remove"
	f := newFlagSet(cmd)
	issuer := f.fs.String("issuer", "", "the platform's issuer (iss)")
	clientID := f.fs.String("client-id", "", "the client_id of the registration to remove")
	db := f.dbFlag()
	c := &checker{}
	if err := f.parseInto(c, args, getenv); err != nil {
		return err
	}
	c.text("--issuer", *issuer)
	c.text("--client-id", *clientID)
	if err := c.err(cmd); err != nil {
		return err
	}
	ctx, b, done, err := openForCLI(ctx, *db, readWrite)
	if err != nil {
		return err
	}
	defer done()
	entries, err := b.Registrations(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", cmd, err)
	}
	found := matching(entries, *issuer, *clientID)
	if len(found) == 0 {
		return errUnknownPlatform(cmd, *issuer, *clientID)
	}
	key := registration.Key{Issuer: *issuer, ClientID: *clientID}
	switch err := b.DeleteRegistration(ctx, key); {
	case errors.Is(err, registration.ErrNotFound):
		// Removed by someone else since the listing.
		return errUnknownPlatform(cmd, *issuer, *clientID)
	case err != nil:
		return fmt.Errorf("%s: %w", cmd, err)
	}
	fmt.Fprintf(stdout, "removed platform %s (client_id %s) and its %d deployment(s); %s\n",
		key.Issuer, key.ClientID, len(found[0].Deployments), cacheNote("it"))
	return nil
}

func deploymentAdd(ctx context.Context, args []string, getenv env, stdout io.Writer) error {
	const cmd = "deployment add"
	key, depID, db, err := parseDeploymentTarget(cmd, "the client_id the platform issued to the tool", "the deployment_id to add", args, getenv)
	if err != nil {
		return err
	}
	ctx, b, done, err := openForCLI(ctx, db, readWrite)
	if err != nil {
		return err
	}
	defer done()
	switch err := b.CreateDeployment(ctx, key, depID); {
	case errors.Is(err, registration.ErrNotFound):
		return fmt.Errorf("%s: no platform with issuer %q and client_id %q is registered; add it with 'demo-tool platform add'", cmd, key.Issuer, key.ClientID)
	case errors.Is(err, storage.ErrExists):
		return fmt.Errorf("%s: deployment %q of issuer %q and client_id %q is already registered", cmd, depID, key.Issuer, key.ClientID)
	case err != nil:
		return fmt.Errorf("%s: %w", cmd, err)
	}
	fmt.Fprintf(stdout, "added deployment %s to platform %s (client_id %s)\n", depID, key.Issuer, key.ClientID)
	return nil
}

// deploymentJSON is one deployment as 'deployment list --json' prints it.
type deploymentJSON struct {
	// Issuer and ClientID identify the registration.
	Issuer   string `json:"issuer"`
	ClientID string `json:"client_id"`
	// DeploymentID is the platform's deployment_id.
	DeploymentID string `json:"deployment_id"`
}

func deploymentList(ctx context.Context, args []string, getenv env, stdout io.Writer) error {
	const cmd = "deployment list"
	f := newFlagSet(cmd)
	issuer := f.fs.String("issuer", "", "only the deployments of this issuer")
	clientID := f.fs.String("client-id", "", "only the deployments of this client_id (with --issuer)")
	asJSON := f.fs.Bool("json", false, "print JSON")
	db := f.dbFlag()
	c := &checker{}
	if err := f.parseInto(c, args, getenv); err != nil {
		return err
	}
	if *issuer != "" {
		c.printable("--issuer", *issuer)
	}
	if *clientID != "" {
		if *issuer == "" {
			c.fail("--client-id needs --issuer")
		}
		c.printable("--client-id", *clientID)
	}
	if err := c.err(cmd); err != nil {
		return err
	}
	entries, err := readRegistrations(ctx, cmd, *db)
	if err != nil {
		return err
	}
	if *issuer != "" {
		if entries = matching(entries, *issuer, *clientID); len(entries) == 0 {
			return errUnknownPlatform(cmd, *issuer, *clientID)
		}
	}
	rows := []deploymentJSON{}
	for _, e := range entries {
		for _, id := range e.Deployments {
			rows = append(rows, deploymentJSON{Issuer: e.Registration.Issuer, ClientID: e.Registration.ClientID, DeploymentID: id})
		}
	}
	if *asJSON {
		return printJSON(stdout, rows)
	}
	if len(rows) == 0 {
		fmt.Fprintln(stdout, "no deployments registered; add one with 'demo-tool deployment add'")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ISSUER\tCLIENT ID\tDEPLOYMENT ID")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Issuer, r.ClientID, r.DeploymentID)
	}
	return tw.Flush()
}

func deploymentRemove(ctx context.Context, args []string, getenv env, stdout io.Writer) error {
	const cmd = "deployment remove"
	key, depID, db, err := parseDeploymentTarget(cmd, "the client_id of the registration", "the deployment_id to remove", args, getenv)
	if err != nil {
		return err
	}
	ctx, b, done, err := openForCLI(ctx, db, readWrite)
	if err != nil {
		return err
	}
	defer done()
	switch err := b.DeleteDeployment(ctx, key, depID); {
	case errors.Is(err, registration.ErrNotFound):
		return errUnknownPlatform(cmd, key.Issuer, key.ClientID)
	case errors.Is(err, deployment.ErrNotFound):
		return fmt.Errorf("%s: platform %s (client_id %s) has no deployment %q", cmd, key.Issuer, key.ClientID, depID)
	case err != nil:
		return fmt.Errorf("%s: %w", cmd, err)
	}
	fmt.Fprintf(stdout, "removed deployment %s of platform %s (client_id %s); %s\n",
		depID, key.Issuer, key.ClientID, cacheNote("it"))
	return nil
}

// parseDeploymentTarget parses the flags of deployment add and remove,
// --issuer, --client-id, --deployment-id and --db, and checks them,
// reporting every problem at once. clientIDUse and depIDUse are the two
// flags' help texts.
func parseDeploymentTarget(cmd, clientIDUse, depIDUse string, args []string, getenv env) (registration.Key, string, string, error) {
	f := newFlagSet(cmd)
	issuer := f.fs.String("issuer", "", "the platform's issuer (iss)")
	clientID := f.fs.String("client-id", "", clientIDUse)
	depID := f.fs.String("deployment-id", "", depIDUse)
	db := f.dbFlag()
	c := &checker{}
	if err := f.parseInto(c, args, getenv); err != nil {
		return registration.Key{}, "", "", err
	}
	c.text("--issuer", *issuer)
	c.text("--client-id", *clientID)
	if c.require("--deployment-id", *depID) {
		c.deploymentIDs("--deployment-id", []string{*depID})
	}
	if err := c.err(cmd); err != nil {
		return registration.Key{}, "", "", err
	}
	return registration.Key{Issuer: *issuer, ClientID: *clientID}, *depID, *db, nil
}
