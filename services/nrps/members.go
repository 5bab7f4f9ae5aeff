package nrps

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"net/http"

	"github.com/ltikit/ltikit/internal/telemetry"
	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/services/internal/svchttp"
)

// Members streams a membership container page by page and member by
// member, in the style of bufio.Scanner:
//
//	ms := client.Members(ctx, nrps.Query{Role: lti.RoleContextLearner})
//	defer ms.Close()
//	for ms.Next() {
//		m := ms.Member()
//		…
//	}
//	if err := ms.Err(); err != nil { … }
//
// or with range over [Members.All]. A page is requested only when the
// previous one is used up, and its members are decoded one at a time from
// the response body, so a roster of any size is read in the memory of one
// member plus the decoder's buffer. A Members is not safe for concurrent
// use.
type Members struct {
	ctx    context.Context
	caller *svchttp.Caller
	op     string // the operation each page is counted as
	next   string // the next page's URL; "" after the last page
	seen   map[string]struct{}

	body      io.ReadCloser // the current page's
	dec       *json.Decoder
	inMembers bool

	cur         Member
	err         error
	closed      bool
	pages       int
	items       int
	maxPages    int // 0: no cap (only in tests without a Caller)
	maxItems    int
	id          string
	context     lti.Context
	differences string
}

// Members starts reading the context's memberships: GET on the claim's
// context_memberships_url with q's filters and Accept
// application/vnd.ims.lti-nrps.v2.membershipcontainer+json, then on every
// Link rel="next" (NRPS 2.0 §2.4.2). Nothing is requested until the first
// Next.
func (c *Client) Members(ctx context.Context, q Query) *Members {
	first, err := c.membershipsURL(q)
	return &Members{ctx: ctx, caller: c.caller, op: telemetry.OpMembersList, next: first, err: err, seen: make(map[string]struct{}),
		maxPages: c.caller.MaxPages(), maxItems: c.caller.MaxItems()}
}

// Differences reads the memberships changed since an earlier read: GET on
// the URL of a Link rel="differences" ([Members.DifferencesURL]) of an
// earlier read (NRPS 2.0 §2.4.3). Members removed since come with status
// Deleted. The URL must be on the registration's platform.
func (c *Client) Differences(ctx context.Context, differencesURL string) *Members {
	m := &Members{ctx: ctx, caller: c.caller, op: telemetry.OpDifferencesList, next: differencesURL, seen: make(map[string]struct{}),
		maxPages: c.caller.MaxPages(), maxItems: c.caller.MaxItems()}
	if differencesURL == "" {
		m.err = fmt.Errorf("%w: empty differences URL", ErrBadURL)
	}
	return m
}

// Next advances to the next member, fetching the next page when the
// current one is used up. It returns false at the end of the last page, on
// an error (see Err) and after Close. A done context stops it with the
// context's error.
func (m *Members) Next() bool {
	for {
		if m.err != nil || m.closed {
			return false
		}
		if err := m.ctx.Err(); err != nil {
			m.fail(err)
			return false
		}
		if m.dec == nil {
			if m.next == "" {
				m.Close()
				return false
			}
			if err := m.open(); err != nil {
				m.fail(err)
				return false
			}
			continue
		}
		if m.inMembers {
			if m.dec.More() {
				var mem Member
				if err := m.dec.Decode(&mem); err != nil {
					m.fail(svchttp.Malformed(err))
					return false
				}
				if m.maxItems > 0 && m.items >= m.maxItems {
					m.fail(fmt.Errorf("%w (%d)", ErrTooManyItems, m.maxItems))
					return false
				}
				m.items++
				m.cur = mem
				return true
			}
			if _, err := m.dec.Token(); err != nil { // ]
				m.fail(svchttp.Malformed(err))
				return false
			}
			m.inMembers = false
			continue
		}
		if err := m.step(); err != nil {
			m.fail(err)
			return false
		}
	}
}

// open requests the next page and reads up to its opening brace.
func (m *Members) open() error {
	url := m.next
	if _, dup := m.seen[url]; dup {
		return ErrPagingLoop
	}
	if m.maxPages > 0 && m.pages >= m.maxPages {
		return fmt.Errorf("%w (%d)", ErrTooManyPages, m.maxPages)
	}
	m.seen[url] = struct{}{}
	resp, err := m.caller.Do(m.ctx, svchttp.Request{Method: http.MethodGet, URL: url, Accept: MediaTypeMembershipContainer, Operation: m.op}, http.StatusOK)
	if err != nil {
		return err
	}
	m.pages++
	m.next = svchttp.NextLink(resp)
	if d := svchttp.LinkRel(resp, "differences"); d != "" {
		m.differences = d
	}
	return m.begin(resp.Body)
}

// begin starts decoding a page's body: up to the container's opening
// brace.
func (m *Members) begin(body io.ReadCloser) error {
	m.body = body
	m.dec = json.NewDecoder(body)
	tok, err := m.dec.Token()
	if err == io.EOF { // an empty body: no members on this page
		m.endPage()
		return nil
	}
	if err != nil {
		return svchttp.Malformed(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return fmt.Errorf("%w: the membership container is not a JSON object", ErrMalformedResponse)
	}
	return nil
}

// step reads one member of the container object, or its closing brace.
func (m *Members) step() error {
	tok, err := m.dec.Token()
	if err != nil {
		return svchttp.Malformed(err)
	}
	if d, ok := tok.(json.Delim); ok && d == '}' {
		if err := svchttp.End(m.dec); err != nil {
			return err
		}
		m.endPage()
		return nil
	}
	name, _ := tok.(string)
	switch name {
	case "members":
		tok, err := m.dec.Token()
		if err != nil {
			return svchttp.Malformed(err)
		}
		if tok == nil {
			return nil // "members": null
		}
		if d, ok := tok.(json.Delim); !ok || d != '[' {
			return fmt.Errorf("%w: members is not an array", ErrMalformedResponse)
		}
		m.inMembers = true
	case "context":
		var c lti.Context
		if err := m.dec.Decode(&c); err != nil {
			return svchttp.Malformed(err)
		}
		if m.pages == 1 || m.context.ID == "" {
			m.context = c
		}
	case "id":
		var id string
		if err := m.dec.Decode(&id); err != nil {
			return svchttp.Malformed(err)
		}
		if m.pages == 1 || m.id == "" {
			m.id = id
		}
	default:
		var skip json.RawMessage
		if err := m.dec.Decode(&skip); err != nil {
			return svchttp.Malformed(err)
		}
	}
	return nil
}

func (m *Members) endPage() {
	if m.body != nil {
		m.body.Close()
	}
	m.body, m.dec, m.inMembers = nil, nil, false
}

func (m *Members) fail(err error) {
	m.err = err
	m.endPage()
	m.cur = Member{}
}

// Member returns the member Next moved to.
func (m *Members) Member() Member { return m.cur }

// Err returns the error that stopped Next, nil at a normal end: an
// *[HTTPError], [ErrForeignHost] for a next link off the platform (no
// token was sent), [ErrRedirect], [ErrTimeout], [ErrResponseTooLarge],
// [ErrMalformedResponse], [ErrPagingLoop], [ErrTooManyPages] (a next page
// past [WithMaxPages], not requested), [ErrTooManyItems] (a member past
// [WithMaxItems]), a token error, or the context's error.
func (m *Members) Err() error { return m.err }

// Close stops the reading and releases the current page's connection. It
// is safe to call more than once, and after the end. It returns nil.
func (m *Members) Close() error {
	m.closed = true
	m.endPage()
	return nil
}

// All returns the remaining members as a sequence for range; the last
// pair carries the error, if any, with a zero Member. It closes m when the
// loop ends, early or not.
func (m *Members) All() iter.Seq2[Member, error] {
	return func(yield func(Member, error) bool) {
		defer m.Close()
		for m.Next() {
			if !yield(m.Member(), nil) {
				return
			}
		}
		if err := m.Err(); err != nil {
			yield(Member{}, err)
		}
	}
}

// Context returns the container's context (id, label, title) from the
// first page, once it has been read: platforms send it before the members,
// so it is known after the first Next.
func (m *Members) Context() lti.Context { return m.context }

// ContainerID returns the container's id from the first page, once read.
func (m *Members) ContainerID() string { return m.id }

// DifferencesURL returns the URL of the last Link rel="differences" seen,
// or "": kept by the tool and read later with [Client.Differences], it
// yields the memberships changed since this read (NRPS 2.0 §2.4.3).
func (m *Members) DifferencesURL() string { return m.differences }

// NextURL returns the URL of the next page to read, "" after the last.
func (m *Members) NextURL() string { return m.next }

// Pages returns how many pages have been requested so far.
func (m *Members) Pages() int { return m.pages }
