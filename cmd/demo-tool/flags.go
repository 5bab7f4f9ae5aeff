package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ltikit/ltikit/deployment"
)

// defaultDB is the SQLite file used when neither --db nor LTIKIT_DB is set.
const defaultDB = "demo-tool.db"

// flagSet is a flag.FlagSet whose flags may also come from environment
// variables, and whose errors are one line.
type flagSet struct {
	fs     *flag.FlagSet
	envVar map[string]string // flag name → environment variable
}

func newFlagSet(name string) *flagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return &flagSet{fs: fs, envVar: map[string]string{}}
}

// fromEnv lets the flag name default to the variable v.
func (f *flagSet) fromEnv(name, v string) { f.envVar[name] = v }

// parse parses args, then fills each flag not given on the command line
// from its environment variable, if set. No positional arguments are
// accepted.
func (f *flagSet) parse(args []string, getenv env) error {
	if err := f.fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return usagef("%s: %v", f.fs.Name(), err)
	}
	if f.fs.NArg() > 0 {
		return usagef("%s: unexpected argument %q", f.fs.Name(), f.fs.Arg(0))
	}
	set := map[string]bool{}
	f.fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	for name, v := range f.envVar {
		if set[name] {
			continue
		}
		val := getenv(v)
		if val == "" {
			continue
		}
		if err := f.fs.Set(name, val); err != nil {
			return usagef("%s: environment variable %s: %v", f.fs.Name(), v, err)
		}
	}
	return nil
}

// dbFlag adds --db (LTIKIT_DB).
func (f *flagSet) dbFlag() *string {
	p := f.fs.String("db", defaultDB, "database: a postgres:// URL or an SQLite file path")
	f.fromEnv("db", "LTIKIT_DB")
	return p
}

// repeated is a flag that may be given several times.
type repeated []string

func (r *repeated) String() string     { return strings.Join(*r, ",") }
func (r *repeated) Set(v string) error { *r = append(*r, v); return nil }

// checkHTTPURL checks that raw is an absolute http(s) URL without user
// info or fragment; what names it in the message. Plain http is accepted:
// local platforms and the sandbox use it.
func checkHTTPURL(what, raw string) (*url.URL, error) {
	if raw == "" {
		return nil, usagef("%s is required", what)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, usagef("%s %q is not a URL", what, raw)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, usagef("%s %q must be an absolute http:// or https:// URL", what, raw)
	case u.Host == "" || u.Hostname() == "":
		return nil, usagef("%s %q has no host", what, raw)
	case u.User != nil:
		return nil, usagef("%s %q must not contain user info", what, raw)
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return nil, usagef("%s %q must not contain a fragment", what, raw)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, usagef("%s %q has an invalid port", what, raw)
		}
	}
	return u, nil
}

// checker collects everything wrong with a command's input, so that one
// usage error lists it all, and the warnings to print when the input is
// accepted anyway.
type checker struct {
	missing  []string // names of required values not given
	problems []string // values given but invalid
	warnings []string
}

// require notes name as missing when v is empty, and reports whether v is
// set.
func (c *checker) require(name, v string) bool {
	if v == "" {
		c.missing = append(c.missing, name)
		return false
	}
	return true
}

// fail notes an invalid value.
func (c *checker) fail(format string, args ...any) {
	c.problems = append(c.problems, fmt.Sprintf(format, args...))
}

// warn notes a value that is accepted but probably not meant.
func (c *checker) warn(format string, args ...any) {
	c.warnings = append(c.warnings, fmt.Sprintf(format, args...))
}

// err returns nil when nothing is missing or invalid, otherwise one usage
// error for cmd listing every missing name and every problem.
func (c *checker) err(cmd string) error {
	var parts []string
	if len(c.missing) > 0 {
		parts = append(parts, "missing "+strings.Join(c.missing, ", "))
	}
	parts = append(parts, c.problems...)
	if len(parts) == 0 {
		return nil
	}
	return usagef("%s: %s", cmd, strings.Join(parts, "; "))
}

// printWarnings writes each warning as one line on w.
func (c *checker) printWarnings(w io.Writer) {
	for _, m := range c.warnings {
		fmt.Fprintf(w, "demo-tool: warning: %s\n", oneLine(m))
	}
}

// url checks a URL the tool sends browsers to or fetches: an absolute
// http(s) URL without user info or fragment. Plain http is accepted, as
// local LMSes and sandboxes use it, with a warning unless the host is
// loopback: over plain http the key set, the token endpoint's answers and
// the login redirect can be read and changed on the way (the 1EdTech
// Security Framework requires TLS; see docs/security.md).
func (c *checker) url(name, raw string, required bool) {
	if raw == "" {
		if required {
			c.missing = append(c.missing, name)
		}
		return
	}
	u, err := checkHTTPURL(name, raw)
	if err != nil {
		c.fail("%s", err.Error())
		return
	}
	if u.Scheme == "http" && !isLoopbackHost(u.Hostname()) {
		c.warn("%s %q uses plain http on a host that is not loopback: anyone on the network path can read and change what is sent; use https outside local testing", name, raw)
	}
}

// isLoopbackHost reports whether host is localhost or a loopback address
// (127.0.0.0/8, ::1).
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// maxIDLength bounds an issuer, a client_id and a token audience.
const maxIDLength = 255

// issuer checks an issuer: required, printable. An issuer is usually the
// platform's https URL without query or fragment (OpenID Connect Core 1.0
// §2, the iss claim); anything else is accepted with a warning, since a
// launch only has to carry the same string.
func (c *checker) issuer(name, v string) {
	if !c.require(name, v) {
		return
	}
	if !c.printable(name, v) {
		return
	}
	u, err := url.Parse(v)
	if err != nil || u.Scheme != "https" && u.Scheme != "http" || u.Host == "" || u.User != nil ||
		u.RawQuery != "" || strings.Contains(v, "#") {
		c.warn("%s %q is not a URL: an issuer is usually the platform's https URL (e.g. https://lms.example.edu), and a launch must carry exactly this value", name, v)
	}
}

// printable checks that v is at most maxIDLength bytes of valid UTF-8
// without control characters, and reports whether it is.
func (c *checker) printable(name, v string) bool {
	if len(v) > maxIDLength || !utf8.ValidString(v) || strings.ContainsFunc(v, isControl) {
		c.fail("%s must be at most %d printable characters", name, maxIDLength)
		return false
	}
	return true
}

// text checks a required identifier (a client_id, an issuer to look up).
func (c *checker) text(name, v string) {
	if c.require(name, v) {
		c.printable(name, v)
	}
}

// deploymentIDs checks deployment ids: each non-empty and printable, at
// most deployment.MaxIDLength bytes (LTI 1.3 Core §5.3.3), none twice.
func (c *checker) deploymentIDs(name string, ids []string) {
	for i, id := range ids {
		switch {
		case id == "":
			c.fail("%s must not be empty", name)
		case len(id) > deployment.MaxIDLength || !utf8.ValidString(id) || strings.ContainsFunc(id, isControl):
			c.fail("%s %q must be at most %d printable characters", name, id, deployment.MaxIDLength)
		case slices.Contains(ids[:i], id):
			c.fail("%s %q is given twice", name, id)
		}
	}
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }
