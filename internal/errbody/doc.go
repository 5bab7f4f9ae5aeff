// Package errbody owns what the service clients keep of a platform's error
// answer: the RFC 6749 §5.2 members (error, error_description, error_uri)
// when the body is such a JSON object, whatever its Content-Type, and
// otherwise a short excerpt of the body that is safe for a log line or a
// terminal (valid UTF-8, no control or format characters, whitespace
// collapsed, bounded, secrets such as JWTs and bearer tokens masked). It
// also bounds how much of an error body is read, and renders request URLs
// without user info.
package errbody
