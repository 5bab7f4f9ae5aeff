// Package moodlereplay is a test server that answers exactly what a real
// Moodle 4.5 answered to a token request and to AGS and NRPS calls
// (testdata/moodle-4.5/ags_nrps_calls.json), so the service clients' golden
// tests run against Moodle's real answers and quirks: line item URLs with
// "?type_id=1", a score POST answered 200 with an empty body, NRPS roles as
// short names.
package moodlereplay
