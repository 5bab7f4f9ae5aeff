package launch

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/ltikit/ltikit/lti"
)

const formType = "application/x-www-form-urlencoded"

// bodyPool holds buffers form bodies are read into: a launch form is one
// id_token of a few KiB, read once and copied into one string.
var bodyPool = sync.Pool{New: func() any { b := make([]byte, 0, 8<<10); return &b }}

// maxPooledBody bounds the buffers kept in bodyPool.
const maxPooledBody = 64 << 10

// parsePostForm reads r's application/x-www-form-urlencoded body, bounded
// to maxBody bytes, and sets r.PostForm exactly as r.ParseForm sets it (the
// same values, and the same partial values when the body or the URL query
// cannot be parsed). It reads the body into a pooled buffer instead of
// growing one with io.ReadAll, and leaves r.Form to be built on demand, as
// Request.FormValue and ParseForm do. A request whose form was parsed
// already goes through r.ParseForm. Every failure is invalid_request.
func parsePostForm(r *http.Request, maxBody int64) error {
	if r.ContentLength > maxBody {
		return lti.ErrInvalidRequest.WithDescription("request body too large")
	}
	ct := r.Header.Get("Content-Type")
	mt := ct
	if i := strings.IndexByte(mt, ';'); i >= 0 {
		mt = mt[:i]
	}
	if !strings.EqualFold(strings.TrimSpace(mt), formType) {
		return lti.ErrInvalidRequest.WithDescription("expected an application/x-www-form-urlencoded body")
	}
	var err error
	if r.PostForm != nil || r.Body == nil {
		// Parsed already (say by a middleware), or nothing to read: the
		// standard library's own rules.
		if r.Body != nil {
			r.Body = http.MaxBytesReader(nil, r.Body, maxBody)
		}
		err = r.ParseForm()
	} else {
		err = readForm(r, ct, maxBody)
	}
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return lti.ErrInvalidRequest.WithDescription("request body too large").WithCause(err)
		}
		return lti.ErrInvalidRequest.WithDescription("the form cannot be parsed").WithCause(err)
	}
	return nil
}

// readForm is r.ParseForm for a POST whose r.PostForm is nil and whose
// Content-Type is ct (application/x-www-form-urlencoded, possibly with
// parameters), with r.Body bounded to maxBody bytes.
func readForm(r *http.Request, ct string, maxBody int64) error {
	var err error
	if ct != formType {
		// ParseForm parses the media type; a parameter it cannot parse is
		// an error, but the body is still read.
		var mt string
		mt, _, err = mime.ParseMediaType(ct)
		if mt != formType {
			r.PostForm = make(url.Values)
			return queryErr(r, err)
		}
	}
	bp := bodyPool.Get().(*[]byte)
	body, rerr := readBody(r.Body, (*bp)[:0], maxBody)
	var vs url.Values
	if rerr != nil {
		if err == nil {
			err = rerr
		}
	} else {
		var e error
		vs, e = parseQuery(string(body))
		if err == nil {
			err = e
		}
	}
	if cap(body) <= maxPooledBody {
		*bp = body[:0]
		bodyPool.Put(bp)
	}
	if vs == nil {
		vs = make(url.Values)
	}
	r.PostForm = vs
	return queryErr(r, err)
}

// parseQuery is url.ParseQuery. The forms platforms post (id_token,
// state: base64url and hex) have no escapes, no '+' and no ';', and for
// them it splits the string without unescaping each value byte by byte;
// anything else goes to url.ParseQuery itself.
func parseQuery(q string) (url.Values, error) {
	if strings.IndexByte(q, '%') >= 0 || strings.IndexByte(q, '+') >= 0 || strings.IndexByte(q, ';') >= 0 ||
		strings.Count(q, "&") >= 1000 {
		return url.ParseQuery(q)
	}
	m := make(url.Values)
	for q != "" {
		var kv string
		kv, q, _ = strings.Cut(q, "&")
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		m[k] = append(m[k], v)
	}
	return m, nil
}

// queryErr returns err, or else the error ParseForm would report for the
// URL query.
func queryErr(r *http.Request, err error) error {
	if err == nil && r.Form == nil && r.URL != nil && r.URL.RawQuery != "" {
		_, err = url.ParseQuery(r.URL.RawQuery)
	}
	return err
}

// readBody appends body to buf until EOF. More than maxBody bytes is an
// *http.MaxBytesError, as http.MaxBytesReader reports it.
func readBody(body io.Reader, buf []byte, maxBody int64) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		room := buf[len(buf):cap(buf)]
		if left := maxBody + 1 - int64(len(buf)); int64(len(room)) > left {
			room = room[:left]
		}
		n, err := body.Read(room)
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > maxBody {
			return buf, &http.MaxBytesError{Limit: maxBody}
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}
