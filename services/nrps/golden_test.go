package nrps_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ltikit/ltikit/launch"
	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/services/internal/moodlereplay"
	"github.com/ltikit/ltikit/services/nrps"
	"github.com/ltikit/ltikit/services/token"
)

// TestMoodleReplay reads Moodle 4.5's recorded membership container with
// the real token client: short role names ("Instructor", "Learner") kept
// as sent and understood by the lti.Roles helpers, Moodle's extra members
// kept as extensions.
func TestMoodleReplay(t *testing.T) {
	srv := moodlereplay.Start(t, filepath.Join(moodleDir, "ags_nrps_calls.json"))
	src, err := token.New(token.Config{Signer: newKeyring(t)})
	if err != nil {
		t.Fatal(err)
	}
	l := &launch.Launch{
		Claims:       srv.Claims(t, filepath.Join(moodleDir, "idtoken_teacher_resource_link.json")),
		Registration: srv.Registration(),
	}
	c, err := nrps.FromLaunch(l, src, nil)
	if err != nil {
		t.Fatal(err)
	}
	ms := c.Members(t.Context(), nrps.Query{})
	var members []nrps.Member
	for m, err := range ms.All() {
		if err != nil {
			t.Fatal(err)
		}
		members = append(members, m)
	}
	golden(t, srv, "nrps_members.json", map[string]any{
		"id": ms.ContainerID(), "context": ms.Context(), "members": members,
	})
	if !cmp.Equal(ms.Context(), lti.Context{ID: "2", Label: "lti101", Title: "LTI Test Course"}) || ms.Pages() != 1 {
		t.Errorf("context %+v, %d pages", ms.Context(), ms.Pages())
	}
	if len(members) != 2 {
		t.Fatalf("%d members", len(members))
	}
	teacher, student := members[0], members[1]
	if !teacher.Roles.IsInstructor() || teacher.Roles.IsLearner() || teacher.Roles[0] != "Instructor" {
		t.Errorf("teacher roles %v", teacher.Roles)
	}
	if !student.Roles.IsLearner() || !student.Roles.Has(lti.RoleContextLearner) || student.Roles[0] != "Learner" {
		t.Errorf("student roles %v", student.Roles)
	}
	if !student.Active() || student.UserID != "3" || student.Email != "student1@example.com" ||
		string(student.Extensions["ext_user_username"]) != `"student1"` {
		t.Errorf("student %+v", student)
	}
	reqs := srv.Requests()
	last := reqs[len(reqs)-1]
	if last.Accept != nrps.MediaTypeMembershipContainer || last.Authorization != "Bearer "+srv.AccessToken() ||
		last.URI != "/mod/lti/services.php/CourseSection/2/bindings/1/memberships" {
		t.Errorf("request %+v", last)
	}
}

func golden(t *testing.T, srv *moodlereplay.Server, name string, v any) {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got := []byte(srv.Unrewrite(string(b)) + "\n")
	path := filepath.Join(moodleDir, "golden", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs (-want +got):\n%s", name, cmp.Diff(string(want), string(got)))
	}
}
