// Package jsonv2 is ltikit's one door to JSON v2: the API of the standard
// library's encoding/json/v2 and encoding/json/jsontext, which Go 1.26
// still ships only under GOEXPERIMENT=jsonv2. Until that experiment ends,
// the same implementation is imported from github.com/go-json-experiment/json
// (the module the standard library's copy is made from; its v1.27 releases
// match Go 1.27's encoding/json/v2, and where that toolchain has the package
// the module is an alias of it, so both toolchains ltikit supports run the
// same code).
//
// Every other package uses JSON v2 through this one, so moving to the
// standard library when encoding/json/v2 leaves the experiment is a change
// of the two imports in jsonv2.go and nothing else. The package re-exports
// only what ltikit uses, under the standard library's names.
//
// JSON v2's defaults are the rules ltikit wants for untrusted input and
// nothing here relaxes them: a duplicate member name is an error (RFC 8259
// §4 leaves duplicates to the implementation, RFC 7519 §4 and RFC 7515 §4
// let a JWT or JOSE parser reject them), invalid UTF-8 and unpaired
// surrogate escapes are errors (RFC 8259 §8.1–8.2), member names match
// Go struct fields case-sensitively, and nesting deeper than 10000 levels
// is refused (RFC 8259 §9).
package jsonv2
