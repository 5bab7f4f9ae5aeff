package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"
)

// pathRegister is the Dynamic Registration initiation URL; a one-time
// link is pathRegister + "/" + token.
const pathRegister = "/lti/register"

// registrationCommand runs 'demo-tool registration link|links'.
func registrationCommand(ctx context.Context, args []string, getenv env, stdout io.Writer) error {
	if len(args) == 0 {
		return usagef("registration: want a subcommand: link or links")
	}
	switch args[0] {
	case "link":
		return registrationLink(ctx, args[1:], getenv, stdout)
	case "links":
		return registrationLinks(ctx, args[1:], getenv, stdout)
	}
	return usagef("registration: unknown subcommand %q: want link or links", args[0])
}

// registrationLink mints a one-time Dynamic Registration link.
func registrationLink(ctx context.Context, args []string, getenv env, stdout io.Writer) error {
	f := newFlagSet("registration link")
	baseURL := f.fs.String("base-url", "", "the tool's public base URL, as 'serve --base-url' has it")
	f.fromEnv("base-url", "LTIKIT_BASE_URL")
	ttl := f.fs.Duration("ttl", defaultLinkTTL, "how long the link stays usable")
	note := f.fs.String("note", "", "a label for 'registration links', e.g. the LMS it is for")
	db := f.dbFlag()
	c := &checker{}
	if err := f.parseInto(c, args, getenv); err != nil {
		return err
	}
	base := ""
	if *baseURL == "" {
		c.missing = append(c.missing, "--base-url (the URL the LMS reaches the tool at)")
	} else if u, err := checkBaseURL(f.name("base-url"), *baseURL); err != nil {
		c.fail("%s", err.Error())
	} else {
		base = u
	}
	if *ttl <= 0 || *ttl > maxLinkTTL {
		c.fail("%s must be more than 0 and at most %s", show("--ttl", ttl.String()), maxLinkTTL)
	}
	if len(*note) > maxLinkNote || !utf8.ValidString(*note) || strings.ContainsFunc(*note, isControl) {
		c.fail("--note must be at most %d printable characters", maxLinkNote)
	}
	if err := c.err("registration link"); err != nil {
		return err
	}
	ctx, b, done, err := openForCLI(ctx, *db, readWrite)
	if err != nil {
		return err
	}
	defer done()
	token, expires, err := newRegLinks(b.recordsDB()).create(ctx, *ttl, *note)
	if err != nil {
		return fmt.Errorf("registration link: %w", err)
	}
	fmt.Fprintf(stdout, "%s%s/%s\n", base, pathRegister, token)
	fmt.Fprintf(stdout, "Paste it into the LMS as the tool's dynamic registration URL. It registers one platform,\n")
	fmt.Fprintf(stdout, "once, until %s; only its hash is stored, so this is the only time it is shown.\n", expires.UTC().Format(time.RFC3339))
	return nil
}

// registrationLinks lists the links made so far.
func registrationLinks(ctx context.Context, args []string, getenv env, stdout io.Writer) error {
	f := newFlagSet("registration links")
	db := f.dbFlag()
	if err := f.parse(args, getenv); err != nil {
		return err
	}
	ctx, b, done, err := openForCLI(ctx, *db, readOnly)
	if err != nil {
		return err
	}
	defer done()
	// Read-only, the table is not created: a database of a demo-tool
	// older than the links has none, and so no link.
	if !b.recordsDB().WithContext(ctx).Migrator().HasTable(regLinksTable) {
		fmt.Fprintln(stdout, "no registration links; make one with 'demo-tool registration link'")
		return nil
	}
	rows, err := newRegLinks(b.recordsDB()).list(ctx)
	if err != nil {
		return fmt.Errorf("registration links: %w", err)
	}
	if len(rows) == 0 {
		fmt.Fprintln(stdout, "no registration links; make one with 'demo-tool registration link'")
		return nil
	}
	now := time.Now()
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CREATED\tEXPIRES\tSTATUS\tNOTE")
	for _, r := range rows {
		status := "unused"
		switch {
		case r.UsedAt != nil:
			status = "used " + r.UsedAt.Format(time.RFC3339)
		case !now.Before(r.ExpiresAt):
			status = "expired"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.CreatedAt.Format(time.RFC3339), r.ExpiresAt.Format(time.RFC3339), status, r.Note)
	}
	return tw.Flush()
}
