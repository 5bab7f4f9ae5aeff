package svchttp

import (
	"net/url"
	"strings"
)

// Registered and claimed service URLs are used as given: a platform may
// route on its query (the WordPress "LTI Platform" plugin serves its token
// endpoint at "/?lti-platform&token", Moodle's AGS line items carry
// "?type_id=1"), so the query is never decoded and encoded again, sorted,
// or given "=" after a bare key. Where a call must add to a URL, the
// helpers below splice the addition into the text.

// AppendPath returns the URL raw with "/" and elem added to the end of its
// path, before the query, which is kept byte for byte (AGS 2.0 §3.3.1,
// §3.4.1: the results and scores services of a line item are at its URL's
// path plus "/results" and "/scores"; ".../lineitems/1?type_id=2" becomes
// ".../lineitems/1/scores?type_id=2"). A trailing "/" of the path is not
// doubled; a fragment is dropped (it is never sent). elem must need no
// escaping.
func AppendPath(raw, elem string) string {
	raw, _, _ = strings.Cut(raw, "#")
	base, query, hasQuery := strings.Cut(raw, "?")
	out := strings.TrimSuffix(base, "/") + "/" + elem
	if hasQuery {
		out += "?" + query
	}
	return out
}

// AddQuery returns the URL raw with the parameters of pairs (name, value,
// name, value, …) whose value is not empty added at the end of its query.
// The query raw has is kept byte for byte (bare keys, encoding, order,
// repeated keys), except that a parameter of the same name as one added is
// removed first, so the call's own value is the one the platform reads.
// Names and values are query-escaped. When nothing is added, raw is
// returned as it is; otherwise a fragment is dropped (it is never sent).
func AddQuery(raw string, pairs ...string) string {
	var add []string
	names := make(map[string]bool)
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] == "" {
			continue
		}
		names[pairs[i]] = true
		add = append(add, url.QueryEscape(pairs[i])+"="+url.QueryEscape(pairs[i+1]))
	}
	if len(add) == 0 {
		return raw
	}
	raw, _, _ = strings.Cut(raw, "#")
	base, query, _ := strings.Cut(raw, "?")
	var keep []string
	if query != "" {
		for _, p := range strings.Split(query, "&") {
			k, _, _ := strings.Cut(p, "=")
			if dk, err := url.QueryUnescape(k); err == nil && names[dk] {
				continue
			}
			keep = append(keep, p)
		}
	}
	return base + "?" + strings.Join(append(keep, add...), "&")
}
