package main

import (
	"errors"
	"flag"
	"io"
	"net/url"
	"strconv"
	"strings"
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
