package launch

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// hostCookiePrefix is the cookie name prefix browsers reserve for cookies
// that are Secure, have Path=/ and no Domain (RFC 6265bis §4.1.3.2).
const hostCookiePrefix = "__Host-"

// The state cookie binds a login to the browser that started it (login
// CSRF protection, OIDC Core §15.5.2, 1EdTech Security Framework §7.3.1).
// Every login has a cookie of its own, named after a digest of its state,
// so parallel launches in several iframes of one page do not overwrite each
// other. Its value is "<issued, base 36 Unix nanoseconds>.<browser secret>":
// the secret is what the launch must present, with the state, to take the
// login record (see stateKey); the time lets a login expire the oldest
// cookies beyond the bound.
//
// SameSite=None with Secure is required: the launch is a cross-site form
// post from the platform, and a Lax or Strict cookie would not be sent with
// it. Partitioned (CHIPS) keeps the cookie in a browser that blocks
// third-party cookies: it is stored for the pair (top-level site, tool
// site), and the launch ends in the same frame of the same top-level page.

// cookieName is the state cookie's name for one state.
func (t *Tool) cookieName(state string) string {
	sum := sha256.Sum256([]byte(state))
	return t.opt.cookiePrefix + hex.EncodeToString(sum[:8])
}

// stateCookie builds the state cookie; maxAge < 0 deletes it.
func (t *Tool) stateCookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name:        name,
		Value:       value,
		Path:        "/",
		MaxAge:      maxAge,
		HttpOnly:    true,
		Secure:      true,
		SameSite:    http.SameSiteNoneMode,
		Partitioned: t.opt.partitioned,
	}
}

// cookieValue is the state cookie's value for a secret issued at now.
func cookieValue(secret string, now time.Time) string {
	return strconv.FormatInt(now.UnixNano(), 36) + "." + secret
}

// cookieSecret returns the secret of a state cookie's value.
func cookieSecret(v string) (string, bool) {
	_, secret, ok := strings.Cut(v, ".")
	return secret, ok && len(secret) == secretLen
}

// cookieIssued returns when a state cookie was issued; an unreadable value
// counts as the oldest.
func cookieIssued(v string) int64 {
	ts, _, _ := strings.Cut(v, ".")
	n, err := strconv.ParseInt(ts, 36, 64)
	if err != nil {
		return -1
	}
	return n
}

// expireOldCookies deletes the oldest of the state cookies r carries so
// that, with the one this login sets, at most maxCookies remain.
func (t *Tool) expireOldCookies(w http.ResponseWriter, r *http.Request) {
	var mine []*http.Cookie
	for _, c := range r.Cookies() {
		if strings.HasPrefix(c.Name, t.opt.cookiePrefix) {
			mine = append(mine, c)
		}
	}
	excess := len(mine) + 1 - t.opt.maxCookies
	if excess <= 0 {
		return
	}
	slices.SortStableFunc(mine, func(a, b *http.Cookie) int {
		x, y := cookieIssued(a.Value), cookieIssued(b.Value)
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return strings.Compare(a.Name, b.Name)
	})
	seen := make(map[string]bool, excess)
	for _, c := range mine {
		if len(seen) == excess {
			break
		}
		if !seen[c.Name] {
			seen[c.Name] = true
			http.SetCookie(w, t.stateCookie(c.Name, "", -1))
		}
	}
}
