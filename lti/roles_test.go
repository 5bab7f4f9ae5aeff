package lti_test

import (
	"testing"

	"github.com/ltikit/ltikit/lti"
)

// helpers is what the Is… helpers answer for one role list.
type helpers struct {
	instructor, learner, admin, ta, contentDeveloper, mentor bool
}

func answers(r lti.Roles) helpers {
	return helpers{
		instructor:       r.IsInstructor(),
		learner:          r.IsLearner(),
		admin:            r.IsAdmin(),
		ta:               r.IsTeachingAssistant(),
		contentDeveloper: r.IsContentDeveloper(),
		mentor:           r.IsMentor(),
	}
}

func TestRoleHelpers(t *testing.T) {
	tests := []struct {
		name  string
		roles lti.Roles
		want  helpers
	}{
		{name: "nil", roles: nil},
		{name: "empty", roles: lti.Roles{}},
		{name: "empty string", roles: lti.Roles{""}},
		{name: "unknown roles", roles: lti.Roles{"urn:unknown", "http://example.com/roles#Instructor", "Course Admin#x"}},

		// Instructor in its three spellings.
		{name: "instructor URI", roles: lti.Roles{lti.RoleContextInstructor}, want: helpers{instructor: true}},
		{name: "instructor simple name", roles: lti.Roles{"Instructor"}, want: helpers{instructor: true}},
		{name: "instructor LTI 1.1 URN", roles: lti.Roles{"urn:lti:role:ims/lis/Instructor"}, want: helpers{instructor: true}},
		{name: "instructor among unknowns", roles: lti.Roles{"", "urn:unknown", lti.RoleContextInstructor}, want: helpers{instructor: true}},

		// Learner; Moodle's NRPS members carry simple names.
		{name: "learner URI (Moodle launch)", roles: lti.Roles{lti.RoleContextLearner}, want: helpers{learner: true}},
		{name: "learner simple name (Moodle NRPS)", roles: lti.Roles{"Learner"}, want: helpers{learner: true}},
		{name: "learner LTI 1.1 URN", roles: lti.Roles{"urn:lti:role:ims/lis/Learner"}, want: helpers{learner: true}},
		{name: "learner sub-role alone", roles: lti.Roles{"urn:lti:role:ims/lis/Learner/NonCreditLearner"}},

		// Institution and system roles are not context roles (Canvas sends them alongside).
		{
			name:  "Canvas: faculty elsewhere, learner here",
			roles: lti.Roles{lti.RoleInstitutionInstructor, lti.RoleInstitutionFaculty, lti.RoleContextLearner, lti.RoleSystemUser},
			want:  helpers{learner: true},
		},
		{name: "institution student only", roles: lti.Roles{lti.RoleInstitutionStudent}},
		{name: "institution instructor only", roles: lti.Roles{lti.RoleInstitutionInstructor, "urn:lti:instrole:ims/lis/Instructor"}},
		{name: "institution mentor only", roles: lti.Roles{lti.RoleInstitutionMentor}},

		// Teaching assistants.
		{
			name:  "Canvas TA: principal and sub-role",
			roles: lti.Roles{lti.RoleContextInstructor, lti.RoleContextTeachingAssistant, lti.RoleInstitutionStudent},
			want:  helpers{instructor: true, ta: true},
		},
		{name: "TA sub-role alone", roles: lti.Roles{lti.RoleContextTeachingAssistant}, want: helpers{ta: true}},
		{name: "TA section variant", roles: lti.Roles{"http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistantSection"}, want: helpers{ta: true}},
		{name: "TA LTI 1.1 URN", roles: lti.Roles{"urn:lti:role:ims/lis/TeachingAssistant"}, want: helpers{ta: true}},
		{name: "TA LTI 1.1 URN sub-role", roles: lti.Roles{"urn:lti:role:ims/lis/TeachingAssistant/TeachingAssistantSection"}, want: helpers{ta: true}},
		{name: "TA LTI 1.1 simple name", roles: lti.Roles{"TeachingAssistant"}, want: helpers{ta: true}},
		{name: "grader is not a TA", roles: lti.Roles{lti.RoleContextGrader}},
		{name: "primary instructor sub-role alone", roles: lti.Roles{lti.RoleContextPrimaryInstructor}},

		// Administrators: system, institution and context.
		{
			name:  "Moodle site admin",
			roles: lti.Roles{lti.RoleInstitutionAdministrator, lti.RoleContextInstructor, lti.RoleSystemAdministrator},
			want:  helpers{instructor: true, admin: true},
		},
		{name: "system admin", roles: lti.Roles{lti.RoleSystemAdministrator}, want: helpers{admin: true}},
		{name: "system admin URN", roles: lti.Roles{"urn:lti:sysrole:ims/lis/Administrator"}, want: helpers{admin: true}},
		{name: "institution admin", roles: lti.Roles{lti.RoleInstitutionAdministrator}, want: helpers{admin: true}},
		{name: "institution admin URN", roles: lti.Roles{"urn:lti:instrole:ims/lis/Administrator"}, want: helpers{admin: true}},
		{name: "context admin", roles: lti.Roles{lti.RoleContextAdministrator}, want: helpers{admin: true}},
		{name: "context admin simple name", roles: lti.Roles{"Administrator"}, want: helpers{admin: true}},
		{name: "context admin URN", roles: lti.Roles{"urn:lti:role:ims/lis/Administrator"}, want: helpers{admin: true}},
		{name: "SysAdmin is not Administrator", roles: lti.Roles{lti.RoleSystemSysAdmin, lti.RoleSystemAccountAdmin}},
		{name: "admin sub-role alone", roles: lti.Roles{"http://purl.imsglobal.org/vocab/lis/v2/membership/Administrator#Administrator"}},

		// Content developers and mentors.
		{name: "content developer URI", roles: lti.Roles{lti.RoleContextContentDeveloper}, want: helpers{contentDeveloper: true}},
		{name: "content developer simple name", roles: lti.Roles{"ContentDeveloper"}, want: helpers{contentDeveloper: true}},
		{name: "content developer URN", roles: lti.Roles{"urn:lti:role:ims/lis/ContentDeveloper"}, want: helpers{contentDeveloper: true}},
		{name: "mentor URI", roles: lti.Roles{lti.RoleContextMentor}, want: helpers{mentor: true}},
		{name: "mentor simple name", roles: lti.Roles{"Mentor"}, want: helpers{mentor: true}},
		{name: "mentor URN", roles: lti.Roles{"urn:lti:role:ims/lis/Mentor"}, want: helpers{mentor: true}},
		{name: "mentor sub-role alone", roles: lti.Roles{"http://purl.imsglobal.org/vocab/lis/v2/membership/Mentor#Tutor"}},

		// Spellings that are not roles.
		{name: "lower case", roles: lti.Roles{"instructor", "http://purl.imsglobal.org/vocab/lis/v2/membership#instructor"}},
		{name: "https scheme", roles: lti.Roles{"https://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"}},
		{
			name: "malformed URIs",
			roles: lti.Roles{
				"http://purl.imsglobal.org/vocab/lis/v2/membership#",
				"http://purl.imsglobal.org/vocab/lis/v2/membership",
				"http://purl.imsglobal.org/vocab/lis/v2/membershipInstructor",
				"http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#",
				"http://purl.imsglobal.org/vocab/lis/v2/membership/#Instructor",
				"http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor/x",
				"http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor?x",
				"http://purl.imsglobal.org/vocab/lis/v2/institution/person#",
				"http://purl.imsglobal.org/vocab/lis/v2/system/person#Administrator#x",
				"urn:lti:role:ims/lis/",
				"urn:lti:role:ims/lis/Instructor/",
				"urn:lti:sysrole:ims/lis/Administrator/x",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := answers(tc.roles); got != tc.want {
				t.Errorf("roles %q:\n got %+v\nwant %+v", tc.roles, got, tc.want)
			}
		})
	}
}

func TestRolesHas(t *testing.T) {
	tests := []struct {
		roles lti.Roles
		query string
		want  bool
	}{
		// The same role in any spelling, either way round.
		{lti.Roles{lti.RoleContextInstructor}, "Instructor", true},
		{lti.Roles{"Instructor"}, lti.RoleContextInstructor, true},
		{lti.Roles{lti.RoleContextInstructor}, "urn:lti:role:ims/lis/Instructor", true},
		{lti.Roles{"urn:lti:role:ims/lis/Learner"}, "Learner", true},
		{lti.Roles{lti.RoleInstitutionInstructor}, "urn:lti:instrole:ims/lis/Instructor", true},
		{lti.Roles{"urn:lti:sysrole:ims/lis/SysAdmin"}, lti.RoleSystemSysAdmin, true},
		{lti.Roles{"urn:lti:role:ims/lis/Manager/Observer"}, lti.RoleContextObserver, true},
		{lti.Roles{"urn:lti:role:ims/lis/TeachingAssistant"}, lti.RoleContextTeachingAssistant, true},
		{lti.Roles{"TeachingAssistant"}, "urn:lti:role:ims/lis/TeachingAssistant", true},

		// Principal roles and sub-roles are different roles.
		{lti.Roles{lti.RoleContextTeachingAssistant}, lti.RoleContextInstructor, false},
		{lti.Roles{lti.RoleContextInstructor}, lti.RoleContextTeachingAssistant, false},

		// Context, institution and system roles of the same name differ.
		{lti.Roles{"Instructor"}, lti.RoleInstitutionInstructor, false},
		{lti.Roles{lti.RoleInstitutionInstructor}, lti.RoleContextInstructor, false},
		{lti.Roles{lti.RoleInstitutionInstructor}, "Instructor", false},
		{lti.Roles{lti.RoleSystemAdministrator}, lti.RoleInstitutionAdministrator, false},
		{lti.Roles{"urn:lti:instrole:ims/lis/Administrator"}, "Administrator", false},

		// Roles outside the LIS vocabularies match only themselves.
		{lti.Roles{lti.RoleTestUser}, lti.RoleTestUser, true},
		{lti.Roles{"urn:unknown"}, "urn:unknown", true},
		{lti.Roles{"urn:unknown"}, "urn:other", false},
		{lti.Roles{"http://example.com/roles#Instructor"}, "Instructor", false},
		{lti.Roles{"Instructor"}, "http://example.com/roles#Instructor", false},

		// Nothing matches the empty role, and an empty list holds nothing.
		{lti.Roles{""}, "", false},
		{lti.Roles{"Learner"}, "", false},
		{nil, "Learner", false},
		{lti.Roles{}, lti.RoleContextLearner, false},
	}
	for _, tc := range tests {
		if got := tc.roles.Has(tc.query); got != tc.want {
			t.Errorf("Roles%q.Has(%q) = %v, want %v", tc.roles, tc.query, got, tc.want)
		}
	}
}
