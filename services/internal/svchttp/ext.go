package svchttp

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
)

// Known is the set of JSON member names (lower-cased) a struct's fields
// claim, so the rest of an object can be kept as extensions.
type Known map[string]struct{}

// KnownNames returns the JSON names of T's fields.
func KnownNames[T any]() Known {
	t := reflect.TypeFor[T]()
	k := make(Known, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		k[strings.ToLower(name)] = struct{}{}
	}
	return k
}

// Has reports whether name (compared case-insensitively, as encoding/json
// matches names) is claimed by a field.
func (k Known) Has(name string) bool {
	_, ok := k[strings.ToLower(name)]
	return ok
}

// Extensions returns the members of the JSON object data that no field
// claims, or nil when there are none (or data is not an object).
func (k Known) Extensions(data []byte) map[string]json.RawMessage {
	var all map[string]json.RawMessage
	if json.Unmarshal(data, &all) != nil {
		return nil
	}
	var ext map[string]json.RawMessage
	for name, v := range all {
		if k.Has(name) {
			continue
		}
		if ext == nil {
			ext = make(map[string]json.RawMessage)
		}
		ext[name] = v
	}
	return ext
}

// AppendExtensions adds the extension members to the JSON object obj (the
// encoding of the known fields), sorted by name; members a field claims,
// and values that are not valid JSON, are left out.
func (k Known) AppendExtensions(obj []byte, ext map[string]json.RawMessage) ([]byte, error) {
	if len(ext) == 0 {
		return obj, nil
	}
	names := make([]string, 0, len(ext))
	for name, v := range ext {
		if !k.Has(name) && json.Valid(v) {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return obj, nil
	}
	slices.Sort(names)
	obj = bytes.TrimRight(obj, " \n\t")
	out := append([]byte(nil), obj[:len(obj)-1]...) // without the closing brace
	empty := bytes.Equal(bytes.TrimSpace(out), []byte("{"))
	for _, name := range names {
		if !empty {
			out = append(out, ',')
		}
		empty = false
		key, err := json.Marshal(name)
		if err != nil {
			return nil, err
		}
		out = append(out, key...)
		out = append(out, ':')
		var buf bytes.Buffer
		if err := json.Compact(&buf, ext[name]); err != nil {
			return nil, err
		}
		out = append(out, buf.Bytes()...)
	}
	return append(out, '}'), nil
}
