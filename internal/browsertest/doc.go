// Package browsertest starts the real, headless Chromium that ltikit's
// browser tests drive (the ltitest platform storage test and the demo
// tool's browser tests). It is a package of its own so that both start the
// browser the same way: one browser per test binary with the flags this
// project's closed network needs, a fresh browser context per test, and
// the CI rule that a missing browser fails the run instead of skipping it.
package browsertest
