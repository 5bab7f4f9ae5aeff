package svchttp

import (
	"context"
	"encoding/json"
	"iter"
	"net/http"
)

// ArrayPages streams the elements of a paged container whose pages are JSON
// arrays (the AGS line item and result containers), starting at first and
// following Link rel="next" (AGS 2.0 §3.2.4, §3.3.4). Pages are fetched
// lazily: the next one only when the consumer asks past the end of the
// current one, and each page's elements are decoded one by one. Iteration
// stops at the first error, which is yielded with the zero T: past the
// Caller's page cap (the next page is not requested) ErrTooManyPages, past
// its item cap ErrTooManyItems. Each page is a call named op (see
// Request.Operation).
func ArrayPages[T any](ctx context.Context, c *Caller, first, accept, op string) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		seen := make(map[string]struct{})
		pages, items := 0, 0
		for next := first; next != ""; {
			if _, dup := seen[next]; dup {
				yield(zero, ErrPagingLoop)
				return
			}
			if pages >= c.maxPages {
				yield(zero, c.TooManyPages())
				return
			}
			seen[next] = struct{}{}
			pages++
			resp, err := c.Do(ctx, Request{Method: http.MethodGet, URL: next, Accept: accept, Operation: op}, http.StatusOK)
			if err != nil {
				yield(zero, err)
				return
			}
			next = NextLink(resp)
			stopped, tooMany := false, false
			err = DecodeArray(json.NewDecoder(resp.Body), func(v T) bool {
				if items >= c.maxItems {
					tooMany = true
					return false
				}
				items++
				if !yield(v, nil) {
					stopped = true
					return false
				}
				return true
			})
			resp.Body.Close()
			if stopped {
				return
			}
			if tooMany {
				yield(zero, c.TooManyItems())
				return
			}
			if err != nil {
				yield(zero, err)
				return
			}
		}
	}
}
