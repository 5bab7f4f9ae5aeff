package nrps

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
)

// FuzzMembershipContainer feeds the streaming membership container parser
// (what Members.Next runs on every page) arbitrary bytes: it must not
// panic, must end (with or without an error), and every member it yields
// must encode back to valid JSON.
func FuzzMembershipContainer(f *testing.F) {
	f.Add(`{"context":{"id":"2","label":"lti101","title":"LTI Test Course"},"id":"http://127.0.0.1:8080/mod/lti/services.php/CourseSection/2/bindings/1/memberships","members":[{"email":"teacher1@example.com","ext_user_username":"teacher1","family_name":"Cher","given_name":"Tea","lis_person_sourcedid":"","name":"Tea Cher","roles":["Instructor"],"status":"Active","user_id":"4"}]}`)
	f.Add(`{"members":[{"user_id":"1","roles":[],"message":[{"https://purl.imsglobal.org/spec/lti/claim/message_type":"LtiResourceLinkRequest"}]}],"context":{"id":"c"}}`)
	f.Add(`{"members":null}`)
	f.Add(`{"id":1}`)
	f.Add(`[]`)
	f.Add(``)
	f.Add(`{"members":[{}]} {}`)
	f.Fuzz(func(t *testing.T, data string) {
		m := &Members{ctx: context.Background(), seen: map[string]struct{}{}}
		if err := m.begin(io.NopCloser(strings.NewReader(data))); err != nil {
			m.fail(err)
		}
		for n := 0; m.Next(); n++ {
			if n > len(data) {
				t.Fatalf("%d members from %d bytes", n, len(data))
			}
			out, err := json.Marshal(m.Member())
			if err != nil || !json.Valid(out) {
				t.Fatalf("%+v: %s %v", m.Member(), out, err)
			}
		}
	})
}
