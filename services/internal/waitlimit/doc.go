// Package waitlimit bounds the time one service call spends waiting on the
// platform: from the start of the call to the response headers, plus the
// time spent inside Read calls on the response body. The time the caller
// spends between reads (working on the items of a page) does not count, so
// a slow consumer of a long page is not cut off, while a platform that
// never answers, or trickles its body, is.
package waitlimit
