package ags

import "time"

// CallTimeout returns the bound on the wait of each of c's calls
// ([WithTimeout], or [DefaultTimeout]), so tests can check the default
// without waiting it out.
func CallTimeout(c *Client) time.Duration { return c.caller.Timeout() }
