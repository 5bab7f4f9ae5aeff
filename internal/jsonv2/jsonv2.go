package jsonv2

import (
	"bytes"

	json "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// The types of encoding/json/v2 and encoding/json/jsontext that ltikit
// uses, as aliases: a value of one is a value of the other.
type (
	// Decoder is jsontext.Decoder: a streaming reader of JSON tokens and
	// values.
	Decoder = jsontext.Decoder
	// Options is json.Options.
	Options = json.Options
	// Unmarshalers is json.Unmarshalers: type-specific unmarshal functions.
	Unmarshalers = json.Unmarshalers
	// SemanticError is json.SemanticError: valid JSON that does not fit
	// the Go type it is decoded into.
	SemanticError = json.SemanticError
)

// Unmarshal is json.Unmarshal: it decodes in, which must hold exactly one
// JSON value, into out.
func Unmarshal(in []byte, out any, opts ...Options) error {
	return json.Unmarshal(in, out, opts...)
}

// UnmarshalFromFunc is json.UnmarshalFromFunc: fn decodes values of type
// T (a pointer) by reading exactly one value from the decoder.
func UnmarshalFromFunc[T any](fn func(*Decoder, T) error) *Unmarshalers {
	return json.UnmarshalFromFunc(fn)
}

// JoinUnmarshalers is json.JoinUnmarshalers.
func JoinUnmarshalers(us ...*Unmarshalers) *Unmarshalers {
	return json.JoinUnmarshalers(us...)
}

// WithUnmarshalers is json.WithUnmarshalers.
func WithUnmarshalers(u *Unmarshalers) Options {
	return json.WithUnmarshalers(u)
}

// Valid reports whether b is exactly one valid JSON value under JSON v2's
// default rules (jsontext.Value.IsValid): no duplicate names, valid UTF-8.
func Valid(b []byte) bool {
	return jsontext.Value(b).IsValid()
}

// AppendUnquote is jsontext.AppendUnquote: it appends the value of the
// JSON string src (quotes included) to dst.
func AppendUnquote(dst, src []byte) ([]byte, error) {
	return jsontext.AppendUnquote(dst, src)
}

// PickMembers reads the JSON object at dec's position in one pass. For
// each member it calls pick with the member's name (unquoted, valid only
// during the call); when pick returns a destination, the member's value
// is copied into it, and otherwise the value is skipped. Every name and value is still checked
// by the decoder. notObject is returned when the value is not an object.
func PickMembers(dec *Decoder, notObject error, pick func(name []byte) *[]byte) error {
	if dec.PeekKind() != '{' {
		return notObject
	}
	if _, err := dec.ReadToken(); err != nil {
		return err
	}
	for dec.PeekKind() != '}' {
		// The name as a raw value, so as not to allocate it: its bytes
		// inside the quotes when it has no escape, else unquoted (a new
		// slice: a buffer here would escape to the heap through pick,
		// for every object, for names that seldom have escapes).
		raw, err := dec.ReadValue()
		if err != nil {
			return err
		}
		name := raw[1 : len(raw)-1]
		if bytes.IndexByte(raw, '\\') >= 0 {
			if name, err = AppendUnquote(nil, raw); err != nil {
				return err
			}
		}
		dst := pick(name)
		if dst == nil {
			if err := dec.SkipValue(); err != nil {
				return err
			}
			continue
		}
		v, err := dec.ReadValue()
		if err != nil {
			return err
		}
		*dst = v.Clone()
	}
	_, err := dec.ReadToken()
	return err
}
