// Package none declares no error variable.
package none

// Value is not an error.
var Value = 1
