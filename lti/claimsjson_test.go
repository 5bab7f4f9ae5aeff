package lti

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// TestSpecial8 holds the word-at-a-time test to the byte-at-a-time one:
// every byte value at every position, among safe bytes and among random
// ones.
func TestSpecial8(t *testing.T) {
	byteSpecial := func(c byte, nonASCII bool) bool {
		return !stringSafe[c] || nonASCII && c >= 0x80
	}
	check := func(b [8]byte) {
		t.Helper()
		s := string(b[:])
		for _, nonASCII := range []bool{false, true} {
			want := false
			for _, c := range b {
				want = want || byteSpecial(c, nonASCII)
			}
			if got := special8(load8(s, 0), nonASCII); got != want {
				t.Fatalf("special8(%q, %v) = %v, want %v", s, nonASCII, got, want)
			}
		}
	}
	for pos := range 8 {
		for c := range 256 {
			b := [8]byte{'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'}
			b[pos] = byte(c)
			check(b)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		var b [8]byte
		for i := range b {
			b[i] = byte(r.IntN(256))
			if r.IntN(2) == 0 {
				b[i] = byte(0x20 + r.IntN(0x60)) // mostly printable ASCII
			}
		}
		check(b)
	}
	if got := load8("0123456789", 2); got != 0x3938373635343332 {
		t.Errorf("load8 = %#x", got)
	}
}

// TestClaimObjectFields checks the member tables of the claim objects
// against their types' json tags: every tagged field has its entry, by the
// tag's name, setting that field.
func TestClaimObjectFields(t *testing.T) {
	checkFields(t, resourceLinkFields)
	checkFields(t, contextFields)
	checkFields(t, toolPlatformFields)
	checkFields(t, launchPresentationFields)
	checkFields(t, lisFields)
	checkFields(t, lti11Fields)
	checkFields(t, forUserFields)
	checkFields(t, agsFields)
	checkFields(t, nrpsFields)
	checkFields(t, deepLinkingFields)
}

func checkFields[T any](t *testing.T, fields []field[T]) {
	t.Helper()
	typ := reflect.TypeFor[T]()
	if len(fields) != typ.NumField() {
		t.Errorf("%s: %d member entries for %d fields", typ, len(fields), typ.NumField())
	}
	for i := range typ.NumField() {
		f := typ.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		var entry *field[T]
		for j := range fields {
			if fields[j].name == name {
				entry = &fields[j]
			}
		}
		if entry == nil {
			t.Errorf("%s.%s: no member entry for %q", typ, f.Name, name)
			continue
		}
		// The entry must set this field and no other.
		var v T
		var val string
		switch f.Type.Kind() {
		case reflect.String:
			val = `"x"`
		case reflect.Slice:
			val = `["x"]`
		case reflect.Pointer:
			val = `true`
		}
		if err := entry.set(&v, val); err != nil {
			t.Errorf("%s.%s: %v", typ, f.Name, err)
			continue
		}
		rv := reflect.ValueOf(v)
		for k := range typ.NumField() {
			if set := !rv.Field(k).IsZero(); set != (k == i) {
				t.Errorf("%s: member %q sets field %s: %v", typ, name, typ.Field(k).Name, set)
			}
		}
	}
}

// TestSkipValueDepth: in the reference scanner, each claim value may nest
// 10000 levels, as json.Decoder allowed, and not one more. (JSON v2 counts
// the 10000 levels from the payload's top: TestDecodeClaimsDepth.)
func TestSkipValueDepth(t *testing.T) {
	for _, tc := range []struct {
		depth int
		ok    bool
	}{{1, true}, {64, true}, {65, true}, {200, true}, {maxJSONDepth, true}, {maxJSONDepth + 1, false}} {
		for _, open := range []string{"[", `{"a":`} {
			close := "]"
			if open != "[" {
				close = "}"
			}
			v := strings.Repeat(open, tc.depth) + "1" + strings.Repeat(close, tc.depth)
			end, err := skipValue(v, 0)
			if (err == nil) != tc.ok || err == nil && end != len(v) {
				t.Errorf("depth %d of %q: end %d, err %v; want ok %v", tc.depth, open, end, err, tc.ok)
			}
			if tc.ok {
				c, err := scannerDecodeClaims(`{"x":`+v+`,"iss":"i"}`, true)
				if err != nil || c.Issuer != "i" {
					t.Errorf("depth %d of %q in an unknown claim: %v", tc.depth, open, err)
				}
			}
		}
	}
	// Mixed containers past 64 levels keep their kinds.
	v := strings.Repeat(`[{"a":`, 100) + "1" + strings.Repeat("}]", 100)
	if end, err := skipValue(v, 0); err != nil || end != len(v) {
		t.Errorf("mixed nesting: %d, %v", end, err)
	}
	bad := strings.Repeat(`[{"a":`, 100) + "1" + strings.Repeat("]}", 100)
	if _, err := skipValue(bad, 0); err == nil {
		t.Error("mismatched closing accepted")
	}
}

// TestClaimsFieldTypes: the decoding functions of claimsOptions are keyed
// by Go type, so the types they take over must occur in Claims only where
// they are meant to: *string only as Subject, map[string]any only as
// Custom.
func TestClaimsFieldTypes(t *testing.T) {
	count := map[reflect.Type][]string{}
	var walk func(typ reflect.Type, path string)
	walk = func(typ reflect.Type, path string) {
		count[typ] = append(count[typ], path)
		switch typ.Kind() {
		case reflect.Pointer, reflect.Slice:
			walk(typ.Elem(), path+"[]")
		case reflect.Struct:
			for i := range typ.NumField() {
				f := typ.Field(i)
				walk(f.Type, path+"."+f.Name)
			}
		}
	}
	walk(reflect.TypeFor[Claims](), "Claims")
	for typ, want := range map[reflect.Type]string{
		reflect.TypeFor[*string]():        "Claims.Subject",
		reflect.TypeFor[map[string]any](): "Claims.Custom",
	} {
		if got := count[typ]; len(got) != 1 || got[0] != want {
			t.Errorf("%v occurs at %v, want only at %s", typ, got, want)
		}
	}
}

// TestDecodeClaimsDepth: JSON v2 allows 10000 levels of nesting counted
// from the payload's top (RFC 8259 §9 lets a parser set the limit).
func TestDecodeClaimsDepth(t *testing.T) {
	for _, tc := range []struct {
		depth int // levels inside the claim, the payload's object being one more
		ok    bool
	}{{1, true}, {9999, true}, {10000, false}} {
		for _, claim := range []string{"x", ClaimCustom} {
			v := strings.Repeat(`{"a":`, tc.depth) + "1" + strings.Repeat("}", tc.depth)
			c, err := DecodeClaims([]byte(`{"iss":"i",` + strconv.Quote(claim) + `:` + v + `}`))
			if tc.ok != (err == nil) || !tc.ok && !errors.Is(err, ErrInvalidToken) {
				t.Errorf("depth %d in %s: %+v, %v; want ok %v", tc.depth, claim, c, err, tc.ok)
			}
		}
	}
}
