// Package sample declares errors for the errortest tests.
package sample

import "errors"

// ErrOne is exported.
var ErrOne = errors.New("one")

var (
	// ErrTwo is exported, in a group.
	ErrTwo   = errors.New("two")
	errThree = errors.New("three")
	// ErrFour and ErrFive share a spec.
	ErrFour, ErrFive = errors.New("four"), errors.New("five")
)

// ErrConst is a constant, not a variable.
const ErrConst = "const"

// Errorf is a function, not a variable.
func Errorf() error { return errThree }
