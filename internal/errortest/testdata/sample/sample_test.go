package sample

import "errors"

// ErrInTest is declared by a test file only.
var ErrInTest = errors.New("test")
