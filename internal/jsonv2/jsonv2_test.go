package jsonv2_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/ltikit/ltikit/internal/jsonv2"
)

// TestValidDefaults pins the defaults ltikit relies on: the rules of
// RFC 8259 that JSON v1 left open are enforced, and nothing relaxes them.
func TestValidDefaults(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		ok       bool
	}{
		{"object", `{"a":[1,"x",null,true]}`, true},
		{"duplicate name", `{"a":1,"a":2}`, false},
		{"duplicate name, nested", `{"a":{"b":1,"b":2}}`, false},
		{"duplicate name, escaped", `{"a":1,"\u0061":2}`, false},
		{"same name in sibling objects", `[{"a":1},{"a":2}]`, true},
		{"invalid UTF-8", "\"\xff\"", false},
		{"unpaired surrogate", `"\ud800"`, false},
		{"surrogate pair", `"\ud83d\ude00"`, true},
		{"trailing data", `{} {}`, false},
		{"10000 levels", strings.Repeat("[", 10000) + strings.Repeat("]", 10000), true},
		{"10001 levels", strings.Repeat("[", 10001) + strings.Repeat("]", 10001), false},
	} {
		if got := jsonv2.Valid([]byte(tc.in)); got != tc.ok {
			t.Errorf("%s: Valid = %v, want %v", tc.name, got, tc.ok)
		}
	}
}

// TestUnmarshalFromFunc: a type-specific function takes over its type,
// and its error comes back as a SemanticError; struct member names match
// case-sensitively.
func TestUnmarshalFromFunc(t *testing.T) {
	type upper string
	errNotString := errors.New("not a string")
	opts := jsonv2.WithUnmarshalers(jsonv2.JoinUnmarshalers(
		jsonv2.UnmarshalFromFunc(func(dec *jsonv2.Decoder, u *upper) error {
			if dec.PeekKind() != '"' {
				return errNotString
			}
			tok, err := dec.ReadToken()
			*u = upper(strings.ToUpper(tok.String()))
			return err
		}),
	))
	var v struct {
		U upper  `json:"u"`
		S string `json:"s"`
	}
	if err := jsonv2.Unmarshal([]byte(`{"u":"abc","S":"ignored"}`), &v, opts); err != nil || v.U != "ABC" || v.S != "" {
		t.Fatalf("Unmarshal = %+v, %v", v, err)
	}
	err := jsonv2.Unmarshal([]byte(`{"u":1}`), &v, opts)
	var semantic *jsonv2.SemanticError
	if !errors.As(err, &semantic) || !errors.Is(err, errNotString) {
		t.Fatalf("Unmarshal of a number: %v, want a SemanticError wrapping errNotString", err)
	}
	b, err := jsonv2.AppendUnquote(nil, []byte(`"a\u00e9\n"`))
	if err != nil || string(b) != "a\u00e9\n" {
		t.Fatalf("AppendUnquote = %q, %v", b, err)
	}
}

// TestPickMembers: the picked members' values are copied as sent, names
// with escapes are compared unquoted, nested members are never picked,
// and a value that is not an object returns the caller's error.
func TestPickMembers(t *testing.T) {
	notObject := errors.New("not an object")
	pick := func(in string) (map[string]string, error) {
		got := map[string]string{}
		vals := map[string]*[]byte{"a": new([]byte), "b c": new([]byte), "n": new([]byte)}
		u := jsonv2.UnmarshalFromFunc(func(dec *jsonv2.Decoder, _ *struct{}) error {
			return jsonv2.PickMembers(dec, notObject, func(name []byte) *[]byte { return vals[string(name)] })
		})
		err := jsonv2.Unmarshal([]byte(in), new(struct{}), jsonv2.WithUnmarshalers(u))
		for k, v := range vals {
			if *v != nil {
				got[k] = string(*v)
			}
		}
		return got, err
	}
	got, err := pick(`{"x":{"a":1},"a":[1, 2],"b\u0020c":"s","z":null}`)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["a"] != "[1, 2]" || got["b c"] != `"s"` {
		t.Errorf("picked %q", got)
	}
	for _, in := range []string{`[1]`, `"a"`, `null`} {
		if _, err := pick(in); !errors.Is(err, notObject) {
			t.Errorf("%s: err %v, want the caller's error", in, err)
		}
	}
	if _, err := pick(`{"a":1,"a":2}`); err == nil {
		t.Error("duplicate names accepted")
	}
}
