package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ltikit/ltikit/deployment"
)

// defaultDB is the SQLite file used when neither --db nor LTIKIT_DB is set.
const defaultDB = "demo-tool.db"

// flagSet is a flag.FlagSet whose flags may also come from environment
// variables, and whose errors are one line and name the flag or variable
// a bad value came from, with the format it should have.
type flagSet struct {
	fs     *flag.FlagSet
	envVar map[string]string // flag name → environment variable
	envSet map[string]bool   // flags set from their environment variable
	db     *string           // --db, when the command has it
	// setting is the environment variable being read, "" while the
	// command line is parsed; badValue is the last value refused.
	setting  string
	badValue string
}

func newFlagSet(name string) *flagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return &flagSet{fs: fs, envVar: map[string]string{}, envSet: map[string]bool{}}
}

// fromEnv lets the flag name default to the variable v.
func (f *flagSet) fromEnv(name, v string) { f.envVar[name] = v }

// name is what messages call the flag: "--name", or its environment
// variable when the value came from there.
func (f *flagSet) name(flagName string) string {
	if f.envSet[flagName] {
		return f.envVar[flagName]
	}
	return "--" + flagName
}

// show is a value and where it came from, for messages: --flag "value"
// for a flag, VARIABLE=value for an environment variable (as it would be
// written in a shell).
func show(what, v string) string {
	if strings.HasPrefix(what, "LTIKIT_") {
		if v == "" || strings.ContainsFunc(v, func(r rune) bool { return r <= ' ' || r == '"' || r == '\\' || r == 0x7f || r == '\'' }) {
			return what + "=" + strconv.Quote(v)
		}
		return what + "=" + v
	}
	return fmt.Sprintf("%s %q", what, v)
}

// parse parses args, then fills each flag not given on the command line
// from its environment variable, if set. No positional arguments are
// accepted. Every bad environment variable, and a --db (LTIKIT_DB) that is
// no database, are reported at once.
func (f *flagSet) parse(args []string, getenv env) error {
	c := &checker{}
	if err := f.parseInto(c, args, getenv); err != nil {
		return err
	}
	return c.err(f.fs.Name())
}

// parseInto is parse that notes bad values of environment variables, and
// a --db that is no database, in c instead of returning them, so that the
// command reports them with its own checks. The first error of the
// command line itself is returned (the flag package stops there).
func (f *flagSet) parseInto(c *checker, args []string, getenv env) error {
	f.fs.VisitAll(func(fl *flag.Flag) { fl.Value = f.explaining(fl.Name, fl.Value) })
	if err := f.fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		if f.badValue != "" {
			return usagef("%s: %s", f.fs.Name(), f.badValue)
		}
		return usagef("%s: %v", f.fs.Name(), err)
	}
	if f.fs.NArg() > 0 {
		return usagef("%s: unexpected argument %q", f.fs.Name(), f.fs.Arg(0))
	}
	set := map[string]bool{}
	f.fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	for _, name := range slices.Sorted(maps.Keys(f.envVar)) {
		v := f.envVar[name]
		if set[name] {
			continue
		}
		val := getenv(v)
		if val == "" {
			continue
		}
		f.setting, f.badValue = v, ""
		err := f.fs.Set(name, val)
		f.setting = ""
		if err != nil {
			c.fail("%s", f.badValue)
			continue
		}
		f.envSet[name] = true
	}
	if f.db != nil {
		if _, err := dbKindOf(f.name("db"), *f.db); err != nil {
			c.fail("%s", err.Error())
		}
	}
	return nil
}

// explaining wraps a flag's value so that a value it refuses is noted in
// f.badValue with where it came from and the format it should have.
func (f *flagSet) explaining(name string, v flag.Value) flag.Value {
	e := explainingValue{Value: v, f: f, name: name}
	if b, ok := v.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
		return explainingBool{e}
	}
	return e
}

// explainingValue is a flag.Value that explains the values it refuses.
type explainingValue struct {
	flag.Value
	f    *flagSet
	name string
}

func (e explainingValue) Set(s string) error {
	err := e.Value.Set(s)
	if err == nil {
		return nil
	}
	what := "--" + e.name
	if e.f.setting != "" {
		what = e.f.setting
	}
	want := expectedFormat(e.Value)
	e.f.badValue = fmt.Sprintf("%s: want %s", show(what, s), want)
	return errors.New("want " + want)
}

// explainingBool is an explainingValue of a boolean flag, which the flag
// package lets stand alone (--sandbox for --sandbox=true).
type explainingBool struct{ explainingValue }

func (explainingBool) IsBoolFlag() bool { return true }

// expectedFormat says what a flag of v's kind takes.
func expectedFormat(v flag.Value) string {
	g, ok := v.(flag.Getter)
	if !ok {
		return "a valid value"
	}
	switch g.Get().(type) {
	case time.Duration:
		return "a duration like 30s, 5m or 1h30m (a number with a unit: ms, s, m or h)"
	case bool:
		return "true or false (also 1 or 0, t or f)"
	case int, int64, uint, uint64:
		return "a whole number"
	case float64:
		return "a number"
	}
	return "a valid value"
}

// dbFlag adds --db (LTIKIT_DB), checked by parse.
func (f *flagSet) dbFlag() *string {
	p := f.fs.String("db", defaultDB, "database: a postgres:// URL or an SQLite file path")
	f.fromEnv("db", "LTIKIT_DB")
	f.db = p
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
	v := show(what, raw)
	u, err := url.Parse(raw)
	if err != nil {
		return nil, usagef("%s is not a URL: want an absolute http:// or https:// URL like https://lms.example.edu/path", v)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, usagef("%s must be an absolute http:// or https:// URL", v)
	case u.Host == "" || u.Hostname() == "":
		return nil, usagef("%s has no host", v)
	case u.User != nil:
		return nil, usagef("%s must not contain user info", v)
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return nil, usagef("%s must not contain a fragment", v)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, usagef("%s has an invalid port: want 1 to 65535", v)
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
