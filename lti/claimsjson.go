package lti

// The claims decoder, on JSON v2 (internal/jsonv2). The payload is decoded
// into Claims by its json tags; a few types get a decoding function of
// their own, for a rule of the specifications or to keep a JSON type
// (Custom's numbers stay json.Number).
//
// JSON v2's defaults are the payload's grammar: a member name that occurs
// twice anywhere is an error (RFC 7519 §4 lets a JWT parser reject
// duplicate claim names, RFC 8259 §4 leaves duplicates to the parser), so
// is invalid UTF-8 or an unpaired surrogate escape (RFC 8259 §8.1–8.2, and
// RFC 7519 §7.2 step 10: the claims set is UTF-8 JSON), and member names
// match exactly, inside claim objects too: JWT claim names are
// case-sensitive (RFC 7519 §4), so "ID" is not "id" in resource_link as
// "AUD" is not "aud" at the top.

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/ltikit/ltikit/internal/jsonv2"
)

var (
	errNotObject  = errors.New("lti: the claims are not a JSON object")
	errSubject    = errors.New("lti: sub must be a string (LTI 1.3 Core §5.3.6)")
	errAudience   = errors.New("lti: aud must be a string or an array of strings")
	errDate       = errors.New("lti: a NumericDate must be a non-negative JSON number")
	errDimension  = errors.New("lti: a dimension must be a number or a string")
	errCustomType = errors.New("lti: the custom claim must be a JSON object")
)

// claimsOptions are the decoding functions of the types with rules of
// their own. Each is keyed by a Go type, so it applies wherever that type
// occurs in Claims: Subject is Claims' only *string field and Custom its
// only map[string]any (TestClaimsFieldTypes checks it).
var claimsOptions = jsonv2.WithUnmarshalers(jsonv2.JoinUnmarshalers(
	jsonv2.UnmarshalFromFunc(decodeSubject),
	jsonv2.UnmarshalFromFunc(decodeAudience),
	jsonv2.UnmarshalFromFunc(decodeDate),
	jsonv2.UnmarshalFromFunc(decodeDimension),
	jsonv2.UnmarshalFromFunc(decodeCustom),
))

// isObject reports whether the first byte of b after JSON whitespace opens
// an object. JSON v2 would decode a null payload into Claims as nothing
// and report an array as a type error; both are not a claims set.
func isObject(b []byte) bool {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		case '{':
			return true
		}
		return false
	}
	return false
}

// decodeClaims is DecodeClaims.
func decodeClaims(payload []byte) (*Claims, error) {
	if !isObject(payload) {
		return nil, ErrInvalidToken.WithCause(errNotObject)
	}
	c := new(Claims)
	if err := jsonv2.Unmarshal(payload, c, claimsOptions); err != nil {
		// JSON v2 stops at the first error. A type error in one claim
		// says nothing of the rest: malformed JSON anywhere in the
		// payload is invalid_token, whatever came first.
		var semantic *jsonv2.SemanticError
		if errors.As(err, &semantic) && jsonv2.Valid(payload) {
			return nil, ErrInvalidClaims.WithCause(err)
		}
		return nil, ErrInvalidToken.WithCause(err)
	}
	return c, nil
}

// decodeSubject decodes sub. A present sub is a string: null is neither a
// user nor an anonymous launch (LTI 1.3 Core §5.3.6: sub, when present, is
// a non-empty string; the launch validation judges the empty one).
func decodeSubject(dec *jsonv2.Decoder, sub **string) error {
	if dec.PeekKind() != '"' {
		return errSubject
	}
	tok, err := dec.ReadToken()
	if err != nil {
		return err
	}
	s := tok.String()
	*sub = &s
	return nil
}

// decodeAudience decodes aud: a string or an array of strings (RFC 7519
// §4.1.3); null is no audience. A null element is an empty string, as
// JSON v2 decodes null into a string.
func decodeAudience(dec *jsonv2.Decoder, aud *Audience) error {
	switch dec.PeekKind() {
	case '"':
		tok, err := dec.ReadToken()
		if err != nil {
			return err
		}
		*aud = Audience{tok.String()}
		return nil
	case 'n':
		_, err := dec.ReadToken()
		*aud = nil
		return err
	case '[':
	default:
		return errAudience
	}
	if _, err := dec.ReadToken(); err != nil {
		return err
	}
	list := Audience{}
	for {
		switch dec.PeekKind() {
		case ']':
			if _, err := dec.ReadToken(); err != nil {
				return err
			}
			*aud = list
			return nil
		case '"', 'n':
			tok, err := dec.ReadToken()
			if err != nil {
				return err
			}
			s := ""
			if tok.Kind() == '"' {
				s = tok.String()
			}
			list = append(list, s)
		default:
			// A wrong element, or a syntax error the caller reports
			// by validating the payload.
			return errAudience
		}
	}
}

// parseNumericDate reads the text of a JSON number as a NumericDate
// (RFC 7519 §2): non-negative, possibly fractional seconds, within a range
// a date can have (2^40 s is about 36,800 years).
func parseNumericDate(text string) (NumericDate, error) {
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 1<<40 {
		return NumericDate{}, errDate
	}
	return NumericDate{Seconds: int64(f), Set: true}, nil
}

// decodeDate decodes exp, iat or nbf: a JSON number; null is an error, as
// a present date must be one.
func decodeDate(dec *jsonv2.Decoder, d *NumericDate) error {
	if dec.PeekKind() != '0' {
		return errDate
	}
	v, err := dec.ReadValue()
	if err != nil {
		return err
	}
	*d, err = parseNumericDate(string(v))
	return err
}

// decodeDimension decodes a launch_presentation width or height: a number
// (its text kept as sent) or a string; null is empty (see Dimension).
func decodeDimension(dec *jsonv2.Decoder, d *Dimension) error {
	switch dec.PeekKind() {
	case '"':
		tok, err := dec.ReadToken()
		if err != nil {
			return err
		}
		*d = Dimension(tok.String())
	case '0':
		v, err := dec.ReadValue()
		if err != nil {
			return err
		}
		*d = Dimension(v)
	case 'n':
		_, err := dec.ReadToken()
		*d = ""
		return err
	default:
		return errDimension
	}
	return nil
}

// decodeCustom decodes the custom claim: an object of any JSON values, each
// keeping its JSON type (numbers become json.Number with their exact
// text); null is no custom claim.
func decodeCustom(dec *jsonv2.Decoder, m *map[string]any) error {
	switch dec.PeekKind() {
	case 'n':
		_, err := dec.ReadToken()
		*m = nil
		return err
	case '{':
		v, err := decodeAny(dec)
		if err != nil {
			return err
		}
		*m = v.(map[string]any)
		return nil
	}
	return errCustomType
}

// decodeAny decodes the next JSON value as encoding/json decodes into an
// interface with UseNumber. The decoder checks the grammar, the nesting
// limit and that no object repeats a name.
func decodeAny(dec *jsonv2.Decoder) (any, error) {
	tok, err := dec.ReadToken()
	if err != nil {
		return nil, err
	}
	switch k := tok.Kind(); k {
	case '{':
		obj := make(map[string]any)
		for dec.PeekKind() != '}' {
			tok, err := dec.ReadToken()
			if err != nil {
				return nil, err
			}
			name := tok.String() // before the next read voids tok
			v, err := decodeAny(dec)
			if err != nil {
				return nil, err
			}
			obj[name] = v
		}
		_, err := dec.ReadToken()
		return obj, err
	case '[':
		arr := make([]any, 0)
		for dec.PeekKind() != ']' {
			v, err := decodeAny(dec)
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
		}
		_, err := dec.ReadToken()
		return arr, err
	case '"':
		return tok.String(), nil
	case '0':
		return json.Number(tok.String()), nil
	case 't', 'f':
		return tok.Bool(), nil
	case 'n':
		return nil, nil
	default:
		return nil, fmt.Errorf("lti: unexpected JSON token %v", k)
	}
}

// claimFinder finds one top-level member of a claims object.
type claimFinder struct {
	name  string
	value json.RawMessage
	found bool
}

// UnmarshalJSONFrom walks the object's members, keeping the one named
// f.name and skipping the others; the decoder validates all of them.
func (f *claimFinder) UnmarshalJSONFrom(dec *jsonv2.Decoder) error {
	return jsonv2.PickMembers(dec, errNotObject, func(name []byte) *[]byte {
		if string(name) != f.name {
			return nil
		}
		f.found = true
		return (*[]byte)(&f.value)
	})
}

// claimValue is ClaimValue.
func claimValue(payload []byte, name string) (json.RawMessage, bool, error) {
	if !isObject(payload) {
		return nil, false, ErrInvalidToken.WithCause(errNotObject)
	}
	f := claimFinder{name: name}
	if err := jsonv2.Unmarshal(payload, &f); err != nil {
		return nil, false, ErrInvalidToken.WithCause(err)
	}
	if !f.found {
		return nil, false, nil
	}
	return f.value, true, nil
}
