package dynreg

import (
	"fmt"
	"net/url"
	"strings"
)

// Canvas Cloud's issuers: every Instructure-hosted Canvas signs its
// launches with one of these, whatever the school's own host.
const (
	// CanvasIssuer is the issuer of Canvas Cloud's production environment.
	CanvasIssuer = "https://canvas.instructure.com"
	// CanvasBetaIssuer is the issuer of Canvas Cloud's beta environment.
	CanvasBetaIssuer = "https://canvas.beta.instructure.com"
	// CanvasTestIssuer is the issuer of Canvas Cloud's test environment.
	CanvasTestIssuer = "https://canvas.test.instructure.com"
	// CanvasHostSuffix is the domain of Canvas Cloud's school hosts, e.g.
	// school.instructure.com, which serve the openid_configuration.
	CanvasHostSuffix = "instructure.com"
)

// issuerException lets a configuration name issuer although the
// openid_configuration URL is on another host, one under a suffix.
type issuerException struct {
	issuer   string
	suffixes []string // lower case, no leading dot, at least two labels
}

// WithIssuerException relaxes one rule of [ParseConfiguration] for one
// named issuer: a platform configuration whose issuer is exactly issuer is
// accepted from an openid_configuration URL on another host, provided that
// URL is https on the default port and its host is one of hostSuffixes or
// ends with "." followed by one of them (a label boundary: the suffix
// "instructure.com" covers school.instructure.com and instructure.com, not
// evilinstructure.com nor instructure.com.evil.example). The issuer must be
// https too; http is never relaxed, not even on loopback. Everything else
// is checked as usual, the issuer's path included. Options add up; every
// other issuer keeps the strict rule.
//
// Why: LTI Dynamic Registration 1.0 §3.5.1 ties the issuer to the
// configuration URL, so that a host can only register the platform it is.
// Multi-tenant platforms break that: Canvas Cloud serves each school's
// configuration at the school's host
// (https://school.instructure.com/api/lti/security/openid-configuration)
// while every Instructure-hosted Canvas has the issuer
// https://canvas.instructure.com. [CanvasCloud] is the exception for it.
//
// Why it is safe enough: the configuration is still fetched over https
// from the host the administrator's LMS named in the registration
// initiation, certificate checked, and only from hosts under the given
// suffixes; the tool still verifies every launch of the new registration
// against the jwks_uri of that configuration; a registration is stored
// under the issuer and the client_id the platform issues, so it cannot
// replace another one (an existing issuer and client_id with other
// endpoints is refused as registration_conflict); and Config.Approve still
// decides.
//
// What it costs: the tool trusts every host under the suffixes to speak for
// the shared issuer. Whoever controls an https endpoint on such a host can
// register a client under that issuer, with endpoints and a key set of its
// choice (only for new client_ids, but launches of that client would be
// taken as the shared issuer's). Name only suffixes whose every host the
// issuer's operator runs: a suffix needs two or more labels (com is
// refused), and a public suffix such as co.uk, which passes that check,
// must never be named. A malformed exception (an issuer that is not an https URL
// without port, query, fragment or user info; no suffix; a suffix that is
// not a host name of two or more labels) never matches, and [New] reports
// it as an error.
func WithIssuerException(issuer string, hostSuffixes ...string) Option {
	return func(o *options) {
		ex, err := newIssuerException(issuer, hostSuffixes)
		if err != nil {
			o.optErrs = append(o.optErrs, err)
			return
		}
		o.issuerExceptions = append(o.issuerExceptions, ex)
	}
}

// CanvasCloud accepts the configurations of Instructure-hosted Canvas:
// the issuers [CanvasIssuer], [CanvasBetaIssuer] and [CanvasTestIssuer]
// from openid_configuration URLs on hosts under [CanvasHostSuffix]. It is
// [WithIssuerException] for each; read its costs there. A self-hosted
// Canvas has an issuer of its own and needs no exception; a school whose
// Canvas Cloud configuration is served from a domain of its own (not
// *.instructure.com) needs WithIssuerException with that domain.
func CanvasCloud() Option {
	return func(o *options) {
		for _, iss := range []string{CanvasIssuer, CanvasBetaIssuer, CanvasTestIssuer} {
			WithIssuerException(iss, CanvasHostSuffix)(o)
		}
	}
}

func newIssuerException(issuer string, suffixes []string) (issuerException, error) {
	u, err := url.Parse(issuer)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.Port() != "" || u.User != nil ||
		u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(issuer, "#") || u.Opaque != "" {
		return issuerException{}, fmt.Errorf("dynreg: issuer exception %q: the issuer must be an https URL without port, query, fragment or user info", issuer)
	}
	if len(suffixes) == 0 {
		return issuerException{}, fmt.Errorf("dynreg: issuer exception %q: no host suffix", issuer)
	}
	ex := issuerException{issuer: issuer}
	for _, s := range suffixes {
		n := strings.ToLower(strings.TrimPrefix(s, "."))
		if !validSuffix(n) {
			return issuerException{}, fmt.Errorf("dynreg: issuer exception %q: host suffix %q must be a host name of two or more labels", issuer, s)
		}
		ex.suffixes = append(ex.suffixes, n)
	}
	return ex, nil
}

// validSuffix reports whether s is a lower-case DNS name of at least two
// non-empty labels of letters, digits and hyphens.
func validSuffix(s string) bool {
	labels := strings.Split(s, ".")
	if len(labels) < 2 || len(s) > 253 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
				return false
			}
		}
	}
	return true
}

// issuerExceptionFor reports whether an exception lets issuer (as the
// configuration states it) be served from cfgURL: both https, cfgURL on the
// default port, its host on a suffix's label boundary.
func (o *options) issuerExceptionFor(issuer string, iss, cfgURL *url.URL) bool {
	if iss.Scheme != "https" || cfgURL.Scheme != "https" || (cfgURL.Port() != "" && cfgURL.Port() != "443") {
		return false
	}
	host := strings.ToLower(cfgURL.Hostname())
	for _, ex := range o.issuerExceptions {
		if ex.issuer != issuer {
			continue
		}
		for _, s := range ex.suffixes {
			if host == s || strings.HasSuffix(host, "."+s) {
				return true
			}
		}
	}
	return false
}
