package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/ltikit/ltikit/deployment"
	"github.com/ltikit/ltikit/registration"
)

// cliTimeout bounds one administrative command's database work.
const cliTimeout = 30 * time.Second

// openForCLI opens the database for an administrative command, whose
// database work ctx bounds to cliTimeout: no sweeper, logs discarded
// (errors are returned). done closes the database and ends the bound.
func openForCLI(ctx context.Context, dsn string) (_ context.Context, _ backend, done func(), _ error) {
	ctx, cancel := context.WithTimeout(ctx, cliTimeout)
	b, err := openBackend(ctx, dsn, slog.New(slog.DiscardHandler), false)
	if err != nil {
		cancel()
		return nil, nil, nil, err
	}
	return ctx, b, func() { b.Close(); cancel() }, nil
}

func platformAdd(ctx context.Context, args []string, getenv env, stdout io.Writer) error {
	f := newFlagSet("platform add")
	issuer := f.fs.String("issuer", "", "the platform's issuer (iss)")
	clientID := f.fs.String("client-id", "", "the client_id the platform issued to the tool")
	authURL := f.fs.String("auth-url", "", "the platform's OIDC authorization endpoint")
	jwksURL := f.fs.String("jwks-url", "", "the platform's JWKS URL")
	tokenURL := f.fs.String("token-url", "", "the platform's OAuth 2 token endpoint (optional)")
	var deps repeated
	f.fs.Var(&deps, "deployment", "a deployment_id (repeatable)")
	db := f.dbFlag()
	if err := f.parse(args, getenv); err != nil {
		return err
	}
	if err := checkIssuer(*issuer); err != nil {
		return err
	}
	if err := checkClientID(*clientID); err != nil {
		return err
	}
	if _, err := checkHTTPURL("--auth-url", *authURL); err != nil {
		return err
	}
	if _, err := checkHTTPURL("--jwks-url", *jwksURL); err != nil {
		return err
	}
	if *tokenURL != "" {
		if _, err := checkHTTPURL("--token-url", *tokenURL); err != nil {
			return err
		}
	}
	for i, id := range deps {
		if err := checkDeploymentID(id); err != nil {
			return err
		}
		for _, prev := range deps[:i] {
			if prev == id {
				return usagef("--deployment %q is given twice", id)
			}
		}
	}
	reg := registration.Registration{
		Issuer:        *issuer,
		ClientID:      *clientID,
		AuthEndpoint:  *authURL,
		TokenEndpoint: *tokenURL,
		KeySetURL:     *jwksURL,
	}
	if err := reg.Validate(); err != nil {
		return usagef("%v", err)
	}

	ctx, b, done, err := openForCLI(ctx, *db)
	if err != nil {
		return err
	}
	defer done()
	switch err := b.AddPlatform(ctx, reg, deps); {
	case errors.Is(err, errDuplicate):
		return fmt.Errorf("platform add: a platform with issuer %q and client_id %q is already registered", reg.Issuer, reg.ClientID)
	case err != nil:
		return fmt.Errorf("platform add: %w", err)
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
	ctx, b, done, err := openForCLI(ctx, *db)
	if err != nil {
		return err
	}
	defer done()
	rows, err := b.Platforms(ctx)
	if err != nil {
		return fmt.Errorf("platform list: %w", err)
	}
	if *asJSON {
		type platformJSON struct {
			Issuer      string   `json:"issuer"`
			ClientID    string   `json:"client_id"`
			AuthURL     string   `json:"auth_url"`
			JWKSURL     string   `json:"jwks_url"`
			TokenURL    string   `json:"token_url,omitempty"`
			Deployments []string `json:"deployments"`
		}
		out := make([]platformJSON, 0, len(rows))
		for _, r := range rows {
			out = append(out, platformJSON{
				Issuer: r.Registration.Issuer, ClientID: r.Registration.ClientID,
				AuthURL: r.Registration.AuthEndpoint, JWKSURL: r.Registration.KeySetURL,
				TokenURL: r.Registration.TokenEndpoint, Deployments: append([]string{}, r.Deployments...),
			})
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	if len(rows) == 0 {
		fmt.Fprintln(stdout, "no platforms registered; add one with 'demo-tool platform add'")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ISSUER\tCLIENT ID\tAUTH URL\tJWKS URL\tDEPLOYMENTS")
	for _, r := range rows {
		deps := strings.Join(r.Deployments, ",")
		if deps == "" {
			deps = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Registration.Issuer, r.Registration.ClientID,
			r.Registration.AuthEndpoint, r.Registration.KeySetURL, deps)
	}
	return tw.Flush()
}

func deploymentAdd(ctx context.Context, args []string, getenv env, stdout io.Writer) error {
	f := newFlagSet("deployment add")
	issuer := f.fs.String("issuer", "", "the platform's issuer (iss)")
	clientID := f.fs.String("client-id", "", "the client_id the platform issued to the tool")
	depID := f.fs.String("deployment-id", "", "the deployment_id to add")
	db := f.dbFlag()
	if err := f.parse(args, getenv); err != nil {
		return err
	}
	if err := checkIssuer(*issuer); err != nil {
		return err
	}
	if err := checkClientID(*clientID); err != nil {
		return err
	}
	if *depID == "" {
		return usagef("--deployment-id is required")
	}
	if err := checkDeploymentID(*depID); err != nil {
		return err
	}
	ctx, b, done, err := openForCLI(ctx, *db)
	if err != nil {
		return err
	}
	defer done()
	key := registration.Key{Issuer: *issuer, ClientID: *clientID}
	switch err := b.AddDeployment(ctx, key, *depID); {
	case errors.Is(err, errNoPlatform):
		return fmt.Errorf("deployment add: no platform with issuer %q and client_id %q is registered; add it with 'demo-tool platform add'", key.Issuer, key.ClientID)
	case errors.Is(err, errDuplicate):
		return fmt.Errorf("deployment add: deployment %q of issuer %q and client_id %q is already registered", *depID, key.Issuer, key.ClientID)
	case err != nil:
		return fmt.Errorf("deployment add: %w", err)
	}
	fmt.Fprintf(stdout, "added deployment %s to platform %s (client_id %s)\n", *depID, key.Issuer, key.ClientID)
	return nil
}

// checkIssuer accepts an issuer as LTI 1.3 Core §5.1.2 has it: a URL (http
// is allowed for local platforms), without query or fragment.
func checkIssuer(iss string) error {
	u, err := checkHTTPURL("--issuer", iss)
	if err != nil {
		return err
	}
	if u.RawQuery != "" {
		return usagef("--issuer %q must not contain a query", iss)
	}
	return nil
}

func checkClientID(id string) error {
	switch {
	case id == "":
		return usagef("--client-id is required")
	case len(id) > 255 || !utf8.ValidString(id) || strings.ContainsFunc(id, isControl):
		return usagef("--client-id must be at most 255 printable characters")
	}
	return nil
}

func checkDeploymentID(id string) error {
	switch {
	case id == "":
		return usagef("a deployment id must not be empty")
	case len(id) > deployment.MaxIDLength || !utf8.ValidString(id) || strings.ContainsFunc(id, isControl):
		return usagef("deployment id %q must be at most %d printable characters", id, deployment.MaxIDLength)
	}
	return nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }
