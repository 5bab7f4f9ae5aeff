package lti

// The hand-written claims scanner that DecodeClaims used before JSON v2
// (claimsjson.go up to the commit that replaced it), kept as the reference
// of the differential tests: FuzzDecodeClaimsReference (claims_ref_test.go)
// holds the JSON v2 decoder to it. The code is unchanged apart from
// renames (scanner… for the names the new decoder reuses), the exported
// entry points at the end, and a fold switch that turns off the
// case-insensitive matching of names inside claim objects, so the tests
// can tell that difference from the others.
//
// What it was: a small JSON reader for id_token payloads. DecodeClaims
// used to walk the payload with encoding/json's token stream and decode
// each claim by reflection; this reader finds each top-level member's span with a
// non-allocating scanner and decodes the known claims from their spans by
// hand, with encoding/json's exact rules: the grammar of its scanner
// (nesting depth limit included), its string unquoting (invalid UTF-8 and
// lone surrogates become U+FFFD), exact-then-case-folded member names inside
// claim objects, null leaving strings unchanged and setting pointers, slices
// and maps to nil, and JSON numbers kept as json.Number in custom values.
// Strings without escapes are substrings of one copy of the payload, so a
// Moodle launch decodes with a few dozen allocations instead of hundreds.

import (
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// maxJSONDepth is encoding/json's nesting limit, applied to each claim
// value as json.Decoder applied it to each value it decoded.
const maxJSONDepth = 10000

// jsonSyntaxError is malformed JSON in a payload.
type jsonSyntaxError struct {
	msg    string
	offset int
}

func (e *jsonSyntaxError) Error() string {
	return "lti: invalid JSON at offset " + strconv.Itoa(e.offset) + ": " + e.msg
}

func syntaxErr(msg string, off int) error { return &jsonSyntaxError{msg: msg, offset: off} }

// claimTypeError is a claim, or a member of one, with the wrong JSON type.
type claimTypeError struct {
	claim string // the claim, or claim.member
	want  string // the Go type it decodes into
	got   string // the JSON type sent
}

func (e *claimTypeError) Error() string {
	return "lti: claim " + strconv.Quote(e.claim) + ": cannot decode a JSON " + e.got + " into " + e.want
}

func typeErr(claim, want, v string) error {
	return &claimTypeError{claim: claim, want: want, got: jsonKind(v)}
}

// jsonKind names the JSON type of the (valid) value v.
func jsonKind(v string) string {
	if v == "" {
		return "nothing"
	}
	switch v[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "bool"
	case 'n':
		return "null"
	}
	return "number"
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// skipSpace returns the index of the first non-whitespace byte of s at or
// after i.
func skipSpace(s string, i int) int {
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	return i
}

// stringSafe marks the bytes a JSON string may hold as they are: not the
// quote, the backslash or a control character. plainASCII marks those of
// them that are ASCII, which unquote can keep without a UTF-8 check.
var stringSafe, plainASCII = func() (safe, plain [256]bool) {
	for c := 0x20; c < 256; c++ {
		safe[c] = c != '"' && c != '\\'
		plain[c] = safe[c] && c < utf8.RuneSelf
	}
	return
}()

// load8 reads s[i:i+8] as a little-endian word (one load once compiled).
func load8(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// special8 reports whether any of the eight bytes in x is a quote, a
// backslash or a control character (or, with nonASCII, 0x80 or above):
// the bytes a string scan must look at one by one. The tests are the exact
// "has a zero byte" and "has a byte less than n" word tricks.
func special8(x uint64, nonASCII bool) bool {
	quote := x ^ (ones * '"')
	backslash := x ^ (ones * '\\')
	v := (quote-ones)&^quote | (backslash-ones)&^backslash | (x-ones*0x20)&^x
	if nonASCII {
		v |= x
	}
	return v&highs != 0
}

// scanString scans the JSON string starting at s[i] == '"'. It returns the
// index after the closing quote and whether the string contains a
// backslash escape.
func scanString(s string, i int) (end int, escaped bool, err error) {
	i++
	for {
		for i+8 <= len(s) && !special8(load8(s, i), false) {
			i += 8
		}
		for i < len(s) && stringSafe[s[i]] {
			i++
		}
		if i >= len(s) {
			return 0, false, syntaxErr("unexpected end of JSON input", len(s))
		}
		switch s[i] {
		case '"':
			return i + 1, escaped, nil
		case '\\':
			escaped = true
			if i+1 >= len(s) {
				return 0, false, syntaxErr("unexpected end of JSON input", len(s))
			}
			switch s[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(s) {
					return 0, false, syntaxErr("unexpected end of JSON input", len(s))
				}
				for k := i + 2; k < i+6; k++ {
					if !isHex(s[k]) {
						return 0, false, syntaxErr("invalid character in \\u escape", k)
					}
				}
				i += 6
			default:
				return 0, false, syntaxErr("invalid escape in string", i+1)
			}
		default:
			return 0, false, syntaxErr("control character in string", i)
		}
	}
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// scanNumber scans the JSON number starting at s[i].
func scanNumber(s string, i int) (int, error) {
	if s[i] == '-' {
		i++
	}
	switch {
	case i >= len(s):
		return 0, syntaxErr("unexpected end of JSON input", len(s))
	case s[i] == '0':
		i++
	case '1' <= s[i] && s[i] <= '9':
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	default:
		return 0, syntaxErr("invalid character in numeric literal", i)
	}
	if i < len(s) && s[i] == '.' {
		i++
		if i >= len(s) || !isDigit(s[i]) {
			return 0, syntaxErr("invalid character after decimal point in numeric literal", i)
		}
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i >= len(s) || !isDigit(s[i]) {
			return 0, syntaxErr("invalid character in exponent of numeric literal", i)
		}
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	return i, nil
}

// scanLiteral scans true, false or null at s[i].
func scanLiteral(s string, i int, lit string) (int, error) {
	for k := 0; k < len(lit); k++ {
		if i+k >= len(s) {
			return 0, syntaxErr("unexpected end of JSON input", len(s))
		}
		if s[i+k] != lit[k] {
			return 0, syntaxErr("invalid character in literal "+lit, i+k)
		}
	}
	return i + len(lit), nil
}

// skipValue validates the JSON value starting at s[i] (after whitespace)
// and returns the index after it. The kinds of the open containers are
// kept in a bit set: one word on the stack, more only for values nested
// deeper than 64 levels.
func skipValue(s string, i int) (int, error) {
	var shallow uint64 // bit d set: the container at depth d is an object
	var deep []uint64  // the same for depths from 64 on
	depth := 0
	var err error
	for {
		// A value starts at i.
		i = skipSpace(s, i)
		if i >= len(s) {
			return 0, syntaxErr("unexpected end of JSON input", len(s))
		}
		switch c := s[i]; {
		case c == '{' || c == '[':
			if depth == maxJSONDepth {
				return 0, syntaxErr("exceeded max depth", i)
			}
			closing := byte(']')
			if c == '{' {
				closing = '}'
			}
			if depth < 64 {
				shallow = shallow&^(1<<depth) | boolBit(c == '{')<<depth
			} else {
				d := depth - 64
				for len(deep) <= d/64 {
					deep = append(deep, 0)
				}
				deep[d/64] = deep[d/64]&^(1<<(d%64)) | boolBit(c == '{')<<(d%64)
			}
			depth++
			i = skipSpace(s, i+1)
			if i < len(s) && s[i] == closing {
				i++
				depth--
				break // an empty container is a complete value
			}
			if c == '{' {
				if i, err = scanKey(s, i); err != nil {
					return 0, err
				}
			}
			continue // its first value
		case c == '"':
			if i, _, err = scanString(s, i); err != nil {
				return 0, err
			}
		case c == '-' || isDigit(c):
			if i, err = scanNumber(s, i); err != nil {
				return 0, err
			}
		case c == 't':
			if i, err = scanLiteral(s, i, "true"); err != nil {
				return 0, err
			}
		case c == 'f':
			if i, err = scanLiteral(s, i, "false"); err != nil {
				return 0, err
			}
		case c == 'n':
			if i, err = scanLiteral(s, i, "null"); err != nil {
				return 0, err
			}
		default:
			return 0, syntaxErr("invalid character looking for beginning of value", i)
		}
		// A value ended at i: close containers until one continues.
		for {
			if depth == 0 {
				return i, nil
			}
			i = skipSpace(s, i)
			if i >= len(s) {
				return 0, syntaxErr("unexpected end of JSON input", len(s))
			}
			d := depth - 1
			var isObject bool
			if d < 64 {
				isObject = shallow&(1<<d) != 0
			} else {
				isObject = deep[(d-64)/64]&(1<<((d-64)%64)) != 0
			}
			if s[i] == ',' {
				i++
				if isObject {
					if i, err = scanKey(s, skipSpace(s, i)); err != nil {
						return 0, err
					}
				}
				break
			}
			if isObject && s[i] == '}' || !isObject && s[i] == ']' {
				i++
				depth--
				continue
			}
			return 0, syntaxErr("invalid character after value", i)
		}
	}
}

func boolBit(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// scanKey scans an object member's name and the colon after it.
func scanKey(s string, i int) (int, error) {
	if i >= len(s) {
		return 0, syntaxErr("unexpected end of JSON input", len(s))
	}
	if s[i] != '"' {
		return 0, syntaxErr("invalid character looking for beginning of object key string", i)
	}
	i, _, err := scanString(s, i)
	if err != nil {
		return 0, err
	}
	i = skipSpace(s, i)
	if i >= len(s) {
		return 0, syntaxErr("unexpected end of JSON input", len(s))
	}
	if s[i] != ':' {
		return 0, syntaxErr("invalid character after object key", i)
	}
	return i + 1, nil
}

// unquote returns the value of the valid JSON string literal q (quotes
// included) exactly as encoding/json unquotes it. A string without escapes
// and with valid UTF-8 is returned as a substring of q, without copying.
func unquote(q string) string {
	s := q[1 : len(q)-1]
	r := 0
	for r+8 <= len(s) && !special8(load8(s, r), true) {
		r += 8
	}
	for r < len(s) && plainASCII[s[r]] {
		r++
	}
	for r < len(s) {
		c := s[r]
		if c == '\\' || c == '"' || c < ' ' {
			break
		}
		if c < utf8.RuneSelf {
			r++
			continue
		}
		rr, size := utf8.DecodeRuneInString(s[r:])
		if rr == utf8.RuneError && size == 1 {
			break
		}
		r += size
	}
	if r == len(s) {
		return s
	}
	// encoding/json's unquoteBytes, over a string.
	b := make([]byte, r, len(s)+2*utf8.UTFMax)
	copy(b, s[:r])
	for r < len(s) {
		switch c := s[r]; {
		case c == '\\':
			r++
			if r >= len(s) {
				return string(b) // unreachable for a scanned string
			}
			switch s[r] {
			case '"', '\\', '/', '\'':
				b = append(b, s[r])
				r++
			case 'b':
				b = append(b, '\b')
				r++
			case 'f':
				b = append(b, '\f')
				r++
			case 'n':
				b = append(b, '\n')
				r++
			case 'r':
				b = append(b, '\r')
				r++
			case 't':
				b = append(b, '\t')
				r++
			case 'u':
				r--
				rr := getu4(s[r:])
				if rr < 0 {
					return string(b) // unreachable for a scanned string
				}
				r += 6
				if utf16.IsSurrogate(rr) {
					rr1 := getu4(s[r:])
					if dec := utf16.DecodeRune(rr, rr1); dec != unicode.ReplacementChar {
						// A valid pair; consume.
						r += 6
						b = utf8.AppendRune(b, dec)
						break
					}
					// Invalid surrogate; fall back to replacement rune.
					rr = unicode.ReplacementChar
				}
				b = utf8.AppendRune(b, rr)
			default:
				return string(b) // unreachable for a scanned string
			}
		case c < utf8.RuneSelf:
			b = append(b, c)
			r++
		default:
			// Coerce to well-formed UTF-8.
			rr, size := utf8.DecodeRuneInString(s[r:])
			r += size
			b = utf8.AppendRune(b, rr)
		}
	}
	return string(b)
}

// getu4 decodes \uXXXX from the beginning of s, returning the hex value,
// or it returns -1.
func getu4(s string) rune {
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return -1
	}
	var r rune
	for _, c := range []byte(s[2:6]) {
		switch {
		case '0' <= c && c <= '9':
			c = c - '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}

// members iterates over the members of a valid JSON object.
type members struct {
	s string // the object, braces included
	i int    // next position
}

// next returns the next member's unquoted name and its value's span.
func (m *members) next() (name, value string, ok bool) {
	i := skipSpace(m.s, m.i)
	if i >= len(m.s) || m.s[i] == '}' {
		return "", "", false
	}
	if m.s[i] == ',' || m.s[i] == '{' {
		i = skipSpace(m.s, i+1)
		if i >= len(m.s) || m.s[i] == '}' {
			return "", "", false
		}
	}
	kEnd, _, err := scanString(m.s, i)
	if err != nil {
		return "", "", false // unreachable for a scanned object
	}
	name = unquote(m.s[i:kEnd])
	i = skipSpace(m.s, kEnd) + 1 // the colon
	i = skipSpace(m.s, i)
	end, err := skipValue(m.s, i)
	if err != nil {
		return "", "", false // unreachable for a scanned object
	}
	m.i = end
	return name, m.s[i:end], true
}

// elements iterates over the elements of a valid JSON array.
type elements struct {
	s string // the array, brackets included
	i int
}

func (e *elements) next() (value string, ok bool) {
	i := skipSpace(e.s, e.i)
	if i >= len(e.s) || e.s[i] == ']' {
		return "", false
	}
	if e.s[i] == ',' || e.s[i] == '[' {
		i = skipSpace(e.s, i+1)
		if i >= len(e.s) || e.s[i] == ']' {
			return "", false
		}
	}
	end, err := skipValue(e.s, i)
	if err != nil {
		return "", false // unreachable for a scanned array
	}
	e.i = end
	return e.s[i:end], true
}

// countElements counts the elements of a valid JSON array.
func countElements(v string) int {
	n := 0
	it := elements{s: v}
	for _, ok := it.next(); ok; _, ok = it.next() {
		n++
	}
	return n
}

// decodeString decodes a string claim: null is "".
func decodeString(claim, v string) (string, error) {
	switch v[0] {
	case '"':
		return unquote(v), nil
	case 'n':
		return "", nil
	}
	return "", typeErr(claim, "string", v)
}

// setString decodes into a string member as encoding/json does: null
// leaves it unchanged.
func setString(dst *string, claim, v string) error {
	switch v[0] {
	case '"':
		*dst = unquote(v)
		return nil
	case 'n':
		return nil
	}
	return typeErr(claim, "string", v)
}

// setStrings decodes a JSON array of strings into *dst as encoding/json
// decodes into a []string: null sets nil; an array reuses *dst's backing
// array (a null element keeps what is there), [] is empty and not nil.
func setStrings(dst *[]string, claim, v string) error {
	switch v[0] {
	case 'n':
		*dst = nil
		return nil
	case '[':
	default:
		return typeErr(claim, "[]string", v)
	}
	s := *dst
	if cap(s) == 0 {
		// A fresh slice: its capacity cannot be observed, allocate once.
		s = make([]string, 0, countElements(v))
	}
	i := 0
	it := elements{s: v}
	for e, ok := it.next(); ok; e, ok = it.next() {
		switch {
		case i >= cap(s):
			s = append(s[:i], "")
		case i >= len(s):
			s = s[:i+1]
		}
		switch e[0] {
		case '"':
			s[i] = unquote(e)
		case 'n':
			// null leaves the element as it is.
		default:
			return typeErr(claim, "[]string", e)
		}
		i++
	}
	if i < len(s) {
		s = s[:i]
	}
	if i == 0 {
		s = []string{}
	}
	*dst = s
	return nil
}

// setBool decodes into a *bool member: null sets nil.
func setBool(dst **bool, claim, v string) error {
	switch v[0] {
	case 't', 'f':
		if *dst == nil {
			*dst = new(bool)
		}
		**dst = v[0] == 't'
		return nil
	case 'n':
		*dst = nil
		return nil
	}
	return typeErr(claim, "bool", v)
}

// setDimension decodes a launch_presentation width or height (see
// Dimension.UnmarshalJSON).
func setDimension(dst *Dimension, claim, v string) error {
	switch c := v[0]; {
	case c == '"':
		*dst = Dimension(unquote(v))
	case c == 'n':
		*dst = ""
	case c == '-' || isDigit(c):
		*dst = Dimension(v)
	default:
		return typeErr(claim, "a number or a string", v)
	}
	return nil
}

// scannerDecodeDate decodes exp, iat or nbf (see NumericDate.UnmarshalJSON).
func scannerDecodeDate(claim, v string) (NumericDate, error) {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 1<<40 {
		return NumericDate{}, &claimTypeError{claim: claim, want: "a non-negative NumericDate", got: jsonKind(v)}
	}
	return NumericDate{Seconds: int64(f), Set: true}, nil
}

// scannerDecodeAudience decodes aud: a string or an array of strings.
func scannerDecodeAudience(v string) (Audience, error) {
	switch v[0] {
	case '"':
		return Audience{unquote(v)}, nil
	case 'n':
		return nil, nil
	case '[':
		var list []string
		if err := setStrings(&list, "aud", v); err != nil {
			return nil, errors.New("lti: aud must be a string or an array of strings")
		}
		return list, nil
	}
	return nil, errors.New("lti: aud must be a string or an array of strings")
}

// parseAny parses the valid JSON value starting at s[i] (after
// whitespace) as encoding/json decodes into an interface with UseNumber,
// and returns it with the index after it. One pass, no look-ahead.
func parseAny(s string, i int) (any, int) {
	i = skipSpace(s, i)
	switch s[i] {
	case '{':
		m := make(map[string]any)
		i = skipSpace(s, i+1)
		if s[i] == '}' {
			return m, i + 1
		}
		for {
			kEnd, _, _ := scanString(s, i)
			name := unquote(s[i:kEnd])
			i = skipSpace(s, kEnd) + 1 // the colon
			var v any
			v, i = parseAny(s, i)
			m[name] = v // a repeated name keeps its last value
			i = skipSpace(s, i)
			if s[i] != ',' {
				return m, i + 1 // the closing brace
			}
			i = skipSpace(s, i+1)
		}
	case '[':
		a := make([]any, 0)
		i = skipSpace(s, i+1)
		if s[i] == ']' {
			return a, i + 1
		}
		for {
			var v any
			v, i = parseAny(s, i)
			a = append(a, v)
			i = skipSpace(s, i)
			if s[i] != ',' {
				return a, i + 1 // the closing bracket
			}
			i++
		}
	case '"':
		end, _, _ := scanString(s, i)
		return unquote(s[i:end]), end
	case 't':
		return true, i + len("true")
	case 'f':
		return false, i + len("false")
	case 'n':
		return nil, i + len("null")
	}
	end, _ := scanNumber(s, i)
	return json.Number(s[i:end]), end
}

// scannerDecodeCustom decodes the custom claim: an object of any values.
func scannerDecodeCustom(v string) (map[string]any, error) {
	switch v[0] {
	case 'n':
		return nil, nil
	case '{':
		m, _ := parseAny(v, 0)
		return m.(map[string]any), nil
	}
	return nil, typeErr("custom", "map[string]any", v)
}

// field is one member of a claim object: its JSON name and how it is
// decoded into a *T.
type field[T any] struct {
	name string
	set  func(t *T, v string) error
}

// decodeObject decodes a claim object into a new *T as encoding/json
// decodes into a struct pointer: null is nil; members match a field's name
// exactly, else case-insensitively (encoding/json's folding); unknown
// members are ignored; a repeated member is decoded again into its field.
func decodeObject[T any](claim, v string, fields []field[T], fold bool) (*T, error) {
	switch v[0] {
	case 'n':
		return nil, nil
	case '{':
	default:
		return nil, typeErr(claim, "an object", v)
	}
	t := new(T)
	it := members{s: v}
	for name, val, ok := it.next(); ok; name, val, ok = it.next() {
		f := matchField(fields, name, fold)
		if f == nil {
			continue
		}
		if err := f.set(t, val); err != nil {
			if te, ok := err.(*claimTypeError); ok {
				te.claim = claim + "." + f.name
			}
			return nil, err
		}
	}
	return t, nil
}

// matchField finds the field named name: exactly, or else (with fold) as
// encoding/json folds names (ASCII letters and the non-ASCII runes whose
// simple case fold orbit holds one, such as U+017F ſ and U+212A K).
func matchField[T any](fields []field[T], name string, fold bool) *field[T] {
	for i := range fields {
		if fields[i].name == name {
			return &fields[i]
		}
	}
	if !fold {
		return nil
	}
	for i := range fields {
		if foldEqual(name, fields[i].name) {
			return &fields[i]
		}
	}
	return nil
}

// foldEqual reports whether encoding/json's foldName(key) equals
// foldName(name) for an ASCII name.
func foldEqual(key, name string) bool {
	j := 0
	for i := 0; i < len(key); {
		var r rune
		if c := key[i]; c < utf8.RuneSelf {
			r = rune(c)
			i++
		} else {
			var n int
			r, n = utf8.DecodeRuneInString(key[i:])
			i += n
		}
		r = foldRune(r)
		if j >= len(name) || r >= utf8.RuneSelf || byte(r) != upperASCII(name[j]) {
			return false
		}
		j++
	}
	return j == len(name)
}

func upperASCII(c byte) byte {
	if 'a' <= c && c <= 'z' {
		return c - ('a' - 'A')
	}
	return c
}

// foldRune is encoding/json's: the smallest rune of r's simple fold orbit,
// with ASCII letters upper-cased.
func foldRune(r rune) rune {
	if r < utf8.RuneSelf {
		return rune(upperASCII(byte(r)))
	}
	for {
		r2 := unicode.SimpleFold(r)
		if r2 <= r {
			return r2
		}
		r = r2
	}
}

func str[T any](name string, get func(*T) *string) field[T] {
	return field[T]{name, func(t *T, v string) error { return setString(get(t), name, v) }}
}

func strs[T any](name string, get func(*T) *[]string) field[T] {
	return field[T]{name, func(t *T, v string) error { return setStrings(get(t), name, v) }}
}

func boolean[T any](name string, get func(*T) **bool) field[T] {
	return field[T]{name, func(t *T, v string) error { return setBool(get(t), name, v) }}
}

func dimension[T any](name string, get func(*T) *Dimension) field[T] {
	return field[T]{name, func(t *T, v string) error { return setDimension(get(t), name, v) }}
}

// The members of each claim object, as their json tags name them
// (TestClaimObjectFields checks the tables against the tags).
var (
	resourceLinkFields = []field[ResourceLink]{
		str("id", func(t *ResourceLink) *string { return &t.ID }),
		str("title", func(t *ResourceLink) *string { return &t.Title }),
		str("description", func(t *ResourceLink) *string { return &t.Description }),
	}
	contextFields = []field[Context]{
		str("id", func(t *Context) *string { return &t.ID }),
		str("label", func(t *Context) *string { return &t.Label }),
		str("title", func(t *Context) *string { return &t.Title }),
		strs("type", func(t *Context) *[]string { return &t.Type }),
	}
	toolPlatformFields = []field[ToolPlatform]{
		str("guid", func(t *ToolPlatform) *string { return &t.GUID }),
		str("contact_email", func(t *ToolPlatform) *string { return &t.ContactEmail }),
		str("description", func(t *ToolPlatform) *string { return &t.Description }),
		str("name", func(t *ToolPlatform) *string { return &t.Name }),
		str("url", func(t *ToolPlatform) *string { return &t.URL }),
		str("product_family_code", func(t *ToolPlatform) *string { return &t.ProductFamilyCode }),
		str("version", func(t *ToolPlatform) *string { return &t.Version }),
	}
	launchPresentationFields = []field[LaunchPresentation]{
		str("document_target", func(t *LaunchPresentation) *string { return &t.DocumentTarget }),
		dimension("height", func(t *LaunchPresentation) *Dimension { return &t.Height }),
		dimension("width", func(t *LaunchPresentation) *Dimension { return &t.Width }),
		str("return_url", func(t *LaunchPresentation) *string { return &t.ReturnURL }),
		str("locale", func(t *LaunchPresentation) *string { return &t.Locale }),
	}
	lisFields = []field[LIS]{
		str("person_sourcedid", func(t *LIS) *string { return &t.PersonSourcedID }),
		str("course_offering_sourcedid", func(t *LIS) *string { return &t.CourseOfferingSourcedID }),
		str("course_section_sourcedid", func(t *LIS) *string { return &t.CourseSectionSourcedID }),
		str("result_sourcedid", func(t *LIS) *string { return &t.ResultSourcedID }),
		str("outcome_service_url", func(t *LIS) *string { return &t.OutcomeServiceURL }),
		str("course_template_sourcedid", func(t *LIS) *string { return &t.CourseTemplateSourcedID }),
		str("term_sourcedid", func(t *LIS) *string { return &t.CourseOfferingTermSourceID }),
	}
	lti11Fields = []field[LTI11Migration]{
		str("user_id", func(t *LTI11Migration) *string { return &t.UserID }),
		str("oauth_consumer_key", func(t *LTI11Migration) *string { return &t.OAuthConsumerKey }),
		str("oauth_consumer_key_sign", func(t *LTI11Migration) *string { return &t.OAuthConsumerKeySign }),
		str("resource_link_id", func(t *LTI11Migration) *string { return &t.ResourceLinkID }),
		str("context_id", func(t *LTI11Migration) *string { return &t.ContextID }),
		str("tool_consumer_instance_guid", func(t *LTI11Migration) *string { return &t.ToolConsumerInstanceGUID }),
	}
	forUserFields = []field[ForUser]{
		str("user_id", func(t *ForUser) *string { return &t.UserID }),
		str("person_sourcedid", func(t *ForUser) *string { return &t.PersonSourcedID }),
		str("name", func(t *ForUser) *string { return &t.Name }),
		str("given_name", func(t *ForUser) *string { return &t.GivenName }),
		str("family_name", func(t *ForUser) *string { return &t.FamilyName }),
		str("email", func(t *ForUser) *string { return &t.Email }),
		strs("roles", func(t *ForUser) *[]string { return &t.Roles }),
	}
	agsFields = []field[AGSEndpoint]{
		strs("scope", func(t *AGSEndpoint) *[]string { return &t.Scope }),
		str("lineitems", func(t *AGSEndpoint) *string { return &t.LineItems }),
		str("lineitem", func(t *AGSEndpoint) *string { return &t.LineItem }),
	}
	nrpsFields = []field[NRPSEndpoint]{
		str("context_memberships_url", func(t *NRPSEndpoint) *string { return &t.ContextMembershipsURL }),
		strs("service_versions", func(t *NRPSEndpoint) *[]string { return &t.ServiceVersions }),
	}
	deepLinkingFields = []field[DeepLinkingSettings]{
		str("deep_link_return_url", func(t *DeepLinkingSettings) *string { return &t.DeepLinkReturnURL }),
		strs("accept_types", func(t *DeepLinkingSettings) *[]string { return &t.AcceptTypes }),
		strs("accept_presentation_document_targets", func(t *DeepLinkingSettings) *[]string { return &t.AcceptPresentationDocumentTargets }),
		str("accept_media_types", func(t *DeepLinkingSettings) *string { return &t.AcceptMediaTypes }),
		boolean("accept_multiple", func(t *DeepLinkingSettings) **bool { return &t.AcceptMultiple }),
		boolean("accept_lineitem", func(t *DeepLinkingSettings) **bool { return &t.AcceptLineItem }),
		boolean("auto_create", func(t *DeepLinkingSettings) **bool { return &t.AutoCreate }),
		boolean("accept_copy_advice", func(t *DeepLinkingSettings) **bool { return &t.AcceptCopyAdvice }),
		str("title", func(t *DeepLinkingSettings) *string { return &t.Title }),
		str("text", func(t *DeepLinkingSettings) *string { return &t.Text }),
		str("data", func(t *DeepLinkingSettings) *string { return &t.Data }),
	}
)

// scannerSetClaim decodes the value v of the top-level claim name into c,
// replacing what an earlier claim of the same name set. Names match
// exactly; an unknown name is ignored.
func (c *Claims) scannerSetClaim(name, v string, fold bool) error {
	var err error
	switch name {
	case "iss":
		c.Issuer, err = decodeString(name, v)
	case "sub":
		// A present but null sub is neither a user nor an anonymous launch
		// (LTI 1.3 Core §5.3.6: sub, when present, is a non-empty string).
		if v[0] != '"' {
			c.Subject = nil
			return &claimTypeError{claim: name, want: "string", got: jsonKind(v)}
		}
		sub := unquote(v)
		c.Subject = &sub
	case "aud":
		c.Audience, err = scannerDecodeAudience(v)
	case "azp":
		c.AuthorizedParty, err = decodeString(name, v)
	case "exp":
		c.ExpiresAt, err = scannerDecodeDate(name, v)
	case "iat":
		c.IssuedAt, err = scannerDecodeDate(name, v)
	case "nbf":
		c.NotBefore, err = scannerDecodeDate(name, v)
	case "nonce":
		c.Nonce, err = decodeString(name, v)
	case "name":
		c.Name, err = decodeString(name, v)
	case "given_name":
		c.GivenName, err = decodeString(name, v)
	case "family_name":
		c.FamilyName, err = decodeString(name, v)
	case "middle_name":
		c.MiddleName, err = decodeString(name, v)
	case "picture":
		c.Picture, err = decodeString(name, v)
	case "email":
		c.Email, err = decodeString(name, v)
	case "locale":
		c.Locale, err = decodeString(name, v)
	case ClaimMessageType:
		c.MessageType, err = decodeString(name, v)
	case ClaimVersion:
		c.Version, err = decodeString(name, v)
	case ClaimDeploymentID:
		c.DeploymentID, err = decodeString(name, v)
	case ClaimTargetLinkURI:
		c.TargetLinkURI, err = decodeString(name, v)
	case ClaimResourceLink:
		c.ResourceLink, err = decodeObject(name, v, resourceLinkFields, fold)
	case ClaimRoles:
		c.Roles = nil
		if v[0] != 'n' {
			var roles []string
			if err = setStrings(&roles, name, v); err == nil {
				c.Roles = &roles
			}
		}
	case ClaimRoleScopeMentor:
		c.RoleScopeMentor = nil
		err = setStrings(&c.RoleScopeMentor, name, v)
	case ClaimContext:
		c.Context, err = decodeObject(name, v, contextFields, fold)
	case ClaimToolPlatform:
		c.ToolPlatform, err = decodeObject(name, v, toolPlatformFields, fold)
	case ClaimLaunchPresentation:
		c.LaunchPresentation, err = decodeObject(name, v, launchPresentationFields, fold)
	case ClaimLIS:
		c.LIS, err = decodeObject(name, v, lisFields, fold)
	case ClaimCustom:
		c.Custom, err = scannerDecodeCustom(v)
	case ClaimLTI11:
		c.LTI11, err = decodeObject(name, v, lti11Fields, fold)
	case ClaimForUser:
		c.ForUser, err = decodeObject(name, v, forUserFields, fold)
	case ClaimAGSEndpoint:
		c.AGS, err = decodeObject(name, v, agsFields, fold)
	case ClaimNRPS:
		c.NRPS, err = decodeObject(name, v, nrpsFields, fold)
	case ClaimDeepLinking:
		c.DeepLinking, err = decodeObject(name, v, deepLinkingFields, fold)
	}
	return err
}

// scannerWalkObject calls member with the name (unquoted) and the raw value of
// each member of the JSON object s, in order, and validates s as a whole:
// malformed JSON anywhere, a value that is not an object or trailing data
// is an error (a *jsonSyntaxError, or errScannerNotObject).
func scannerWalkObject(s string, member func(name, value string)) error {
	i := skipSpace(s, 0)
	if i >= len(s) || s[i] != '{' {
		return errScannerNotObject
	}
	i = skipSpace(s, i+1)
	if i < len(s) && s[i] == '}' {
		i++
	} else {
		for {
			if i >= len(s) {
				return syntaxErr("unexpected end of JSON input", len(s))
			}
			if s[i] != '"' {
				return syntaxErr("invalid character looking for beginning of object key string", i)
			}
			kEnd, escaped, err := scanString(s, i)
			if err != nil {
				return err
			}
			name := s[i+1 : kEnd-1]
			if escaped || !utf8.ValidString(name) {
				// As encoding/json: escapes resolved, invalid UTF-8 as U+FFFD.
				name = unquote(s[i:kEnd])
			}
			i = skipSpace(s, kEnd)
			if i >= len(s) || s[i] != ':' {
				return syntaxErr("invalid character after object key", i)
			}
			start := skipSpace(s, i+1)
			end, err := skipValue(s, start)
			if err != nil {
				return err
			}
			member(name, s[start:end])
			i = skipSpace(s, end)
			if i < len(s) && s[i] == ',' {
				i = skipSpace(s, i+1)
				continue
			}
			if i < len(s) && s[i] == '}' {
				i++
				break
			}
			if i >= len(s) {
				return syntaxErr("unexpected end of JSON input", len(s))
			}
			return syntaxErr("invalid character after object key:value pair", i)
		}
	}
	if i = skipSpace(s, i); i != len(s) {
		return errScannerTrailing
	}
	return nil
}

var (
	errScannerNotObject = errors.New("lti: the claims are not a JSON object")
	errScannerTrailing  = errors.New("lti: trailing data after the claims object")
)

// scannerDecodeClaims is the scanner's DecodeClaims over the payload as a
// string; fold false turns off case-folded names in claim objects.
func scannerDecodeClaims(s string, fold bool) (*Claims, error) {
	c := new(Claims)
	var claimErr error
	err := scannerWalkObject(s, func(name, v string) {
		if claimErr == nil {
			claimErr = c.scannerSetClaim(name, v, fold)
		}
	})
	if err != nil {
		return nil, ErrInvalidToken.WithCause(err)
	}
	if claimErr != nil {
		return nil, ErrInvalidClaims.WithCause(claimErr)
	}
	return c, nil
}

// ScannerDecodeClaims is the scanner's DecodeClaims, for the differential
// tests of package lti_test; fold false matches names inside claim objects
// exactly, as the JSON v2 decoder does.
func ScannerDecodeClaims(payload []byte, fold bool) (*Claims, error) {
	return scannerDecodeClaims(string(payload), fold)
}

// ScannerClaimValue is the scanner's ClaimValue.
func ScannerClaimValue(payload []byte, name string) (json.RawMessage, bool, error) {
	var value string
	found := false
	err := scannerWalkObject(string(payload), func(n, v string) {
		if n == name {
			value, found = v, true
		}
	})
	if err != nil {
		return nil, false, ErrInvalidToken.WithCause(err)
	}
	if !found {
		return nil, false, nil
	}
	return json.RawMessage(value), true, nil
}
