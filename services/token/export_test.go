package token

import "time"

// Timeouts returns c's token request and Do timeouts ([WithFetchTimeout],
// [WithRequestTimeout], or their defaults), so tests can check the
// defaults without waiting them out.
func Timeouts(c *Client) (fetch, request time.Duration) { return c.fetchTimeout, c.requestTimeout }
