package launch

import "time"

// StateKey and StateCookieValue let the benchmarks store login records
// without running a login per iteration.
var (
	StateKey         = stateKey
	StateCookieValue = func(secret string) string { return cookieValue(secret, time.Now()) }
)
