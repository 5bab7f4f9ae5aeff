package lti

import "strings"

// System roles (LTI 1.3 Core §A.2.1). Administrator and None are the core
// roles; the others are non-core.
const (
	RoleSystemAdministrator = "http://purl.imsglobal.org/vocab/lis/v2/system/person#Administrator"
	RoleSystemNone          = "http://purl.imsglobal.org/vocab/lis/v2/system/person#None"
	RoleSystemAccountAdmin  = "http://purl.imsglobal.org/vocab/lis/v2/system/person#AccountAdmin"
	RoleSystemCreator       = "http://purl.imsglobal.org/vocab/lis/v2/system/person#Creator"
	RoleSystemSysAdmin      = "http://purl.imsglobal.org/vocab/lis/v2/system/person#SysAdmin"
	RoleSystemSysSupport    = "http://purl.imsglobal.org/vocab/lis/v2/system/person#SysSupport"
	RoleSystemUser          = "http://purl.imsglobal.org/vocab/lis/v2/system/person#User"
)

// RoleTestUser marks a platform's test or preview user, e.g. a student view
// (LTI 1.3 Core §A.2.4, LTI vocabulary for system roles).
const RoleTestUser = "http://purl.imsglobal.org/vocab/lti/system/person#TestUser"

// Institution roles (LTI 1.3 Core §A.2.2). Administrator, Faculty, Guest,
// None, Other, Staff and Student are the core roles; the others are non-core.
// An institution role says nothing about the user's role in the launch's
// context: an institution Instructor may be a Learner in this course.
const (
	RoleInstitutionAdministrator      = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator"
	RoleInstitutionFaculty            = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Faculty"
	RoleInstitutionGuest              = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Guest"
	RoleInstitutionNone               = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#None"
	RoleInstitutionOther              = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Other"
	RoleInstitutionStaff              = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Staff"
	RoleInstitutionStudent            = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Student"
	RoleInstitutionAlumni             = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Alumni"
	RoleInstitutionInstructor         = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Instructor"
	RoleInstitutionLearner            = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Learner"
	RoleInstitutionMember             = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Member"
	RoleInstitutionMentor             = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Mentor"
	RoleInstitutionObserver           = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Observer"
	RoleInstitutionProspectiveStudent = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#ProspectiveStudent"
)

// Context (membership) roles (LTI 1.3 Core §A.2.3): the user's role in the
// launch's context. Administrator, ContentDeveloper, Instructor, Learner and
// Mentor are the core roles; Manager, Member and Officer are non-core.
const (
	RoleContextAdministrator    = "http://purl.imsglobal.org/vocab/lis/v2/membership#Administrator"
	RoleContextContentDeveloper = "http://purl.imsglobal.org/vocab/lis/v2/membership#ContentDeveloper"
	RoleContextInstructor       = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"
	RoleContextLearner          = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
	RoleContextMentor           = "http://purl.imsglobal.org/vocab/lis/v2/membership#Mentor"
	RoleContextManager          = "http://purl.imsglobal.org/vocab/lis/v2/membership#Manager"
	RoleContextMember           = "http://purl.imsglobal.org/vocab/lis/v2/membership#Member"
	RoleContextOfficer          = "http://purl.imsglobal.org/vocab/lis/v2/membership#Officer"
)

// Context sub-roles (LTI 1.3 Core §A.2.3.1) that tools commonly test for. A
// sub-role URI is the principal role's URI with "/Principal#Sub" in place of
// "#Principal"; by best practice a platform sends the principal role too.
const (
	RoleContextTeachingAssistant = "http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant"
	RoleContextGrader            = "http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#Grader"
	RoleContextPrimaryInstructor = "http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#PrimaryInstructor"
	RoleContextObserver          = "http://purl.imsglobal.org/vocab/lis/v2/membership/Manager#Observer"
)

// Roles is the roles claim (LTI 1.3 Core §5.3.7), or the roles of an NRPS
// member, as the platform sent them. Values are kept verbatim: an empty
// string or a role from an unknown vocabulary is not an error, it just
// matches nothing but itself.
//
// The helpers understand three spellings of the same role, because real
// platforms use all of them:
//   - the full URI of LTI 1.3 Core Appendix A (what Moodle and Canvas send in launches);
//   - the simple name of a context role, e.g. "Instructor" (§A.2.3: deprecated
//     but recognised; Moodle's NRPS answers use it);
//   - the LTI 1.1 URN, e.g. "urn:lti:role:ims/lis/Instructor",
//     "urn:lti:instrole:ims/lis/Administrator" or "urn:lti:sysrole:ims/lis/Administrator".
//
// The LTI 1.1 context role TeachingAssistant (simple name or URN, with or
// without a sub-role) is read as the LTI 1.3 sub-role Instructor#TeachingAssistant.
// Matching is case-sensitive.
type Roles []string

// Has reports whether the user holds role. role may be spelled in any of
// the three forms [Roles] understands; it matches the same role in any form.
// A principal role does not match one of its sub-roles, nor the other way
// round, and a context role never matches an institution or system role of
// the same name. Has("") is false.
func (r Roles) Has(role string) bool {
	if role == "" {
		return false
	}
	want, known := parseRole(role)
	for _, v := range r {
		if v == "" {
			continue
		}
		if v == role {
			return true
		}
		if !known {
			continue
		}
		if got, ok := parseRole(v); ok && got == want {
			return true
		}
	}
	return false
}

// IsInstructor reports whether the user holds the context role Instructor.
// An institution Instructor or Faculty role does not count, and neither does
// a sub-role of Instructor sent without the principal role (use
// [Roles.IsTeachingAssistant] for teaching assistants).
func (r Roles) IsInstructor() bool { return r.Has(RoleContextInstructor) }

// IsLearner reports whether the user holds the context role Learner. An
// institution Student or Learner role does not count.
func (r Roles) IsLearner() bool { return r.Has(RoleContextLearner) }

// IsMentor reports whether the user holds the context role Mentor. The users
// they mentor are in the role_scope_mentor claim.
func (r Roles) IsMentor() bool { return r.Has(RoleContextMentor) }

// IsContentDeveloper reports whether the user holds the context role
// ContentDeveloper.
func (r Roles) IsContentDeveloper() bool { return r.Has(RoleContextContentDeveloper) }

// IsAdmin reports whether the user is an Administrator of the system, of the
// institution or of the context. Other administrative system roles
// (SysAdmin, AccountAdmin) do not count; test them with [Roles.Has].
func (r Roles) IsAdmin() bool {
	return r.Has(RoleSystemAdministrator) || r.Has(RoleInstitutionAdministrator) ||
		r.Has(RoleContextAdministrator)
}

// IsTeachingAssistant reports whether the user holds a teaching assistant
// sub-role of Instructor: TeachingAssistant or one of its variants
// (TeachingAssistantSection, TeachingAssistantOffering, …), or the LTI 1.1
// context role TeachingAssistant.
func (r Roles) IsTeachingAssistant() bool {
	for _, v := range r {
		k, ok := parseRole(v)
		if ok && k.scope == scopeContext && k.principal == "Instructor" &&
			strings.HasPrefix(k.sub, "TeachingAssistant") {
			return true
		}
	}
	return false
}

type roleScope uint8

const (
	scopeContext roleScope = iota + 1
	scopeInstitution
	scopeSystem
)

// roleKey is a role in canonical form: the same role spelled as a full URI,
// a simple name or an LTI 1.1 URN has the same key.
type roleKey struct {
	scope     roleScope
	principal string
	sub       string // "" for a principal role
}

const (
	lisMembership  = "http://purl.imsglobal.org/vocab/lis/v2/membership"
	lisInstitution = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#"
	lisSystem      = "http://purl.imsglobal.org/vocab/lis/v2/system/person#"
	urnContext     = "urn:lti:role:ims/lis/"
	urnInstitution = "urn:lti:instrole:ims/lis/"
	urnSystem      = "urn:lti:sysrole:ims/lis/"
)

// parseRole returns the canonical key of a role of the LIS vocabularies in
// any of the spellings [Roles] understands; ok is false for anything else.
func parseRole(s string) (k roleKey, ok bool) {
	switch {
	case strings.HasPrefix(s, lisMembership):
		rest := s[len(lisMembership):]
		if name, found := strings.CutPrefix(rest, "#"); found {
			return contextKey(name, "")
		}
		if rest, found := strings.CutPrefix(rest, "/"); found {
			principal, sub, found := strings.Cut(rest, "#")
			if !found || !isName(sub) {
				return roleKey{}, false
			}
			return contextKey(principal, sub)
		}
		return roleKey{}, false
	case strings.HasPrefix(s, lisInstitution):
		return nameKey(scopeInstitution, s[len(lisInstitution):])
	case strings.HasPrefix(s, lisSystem):
		return nameKey(scopeSystem, s[len(lisSystem):])
	case strings.HasPrefix(s, urnContext):
		principal, sub, found := strings.Cut(s[len(urnContext):], "/")
		if found && !isName(sub) {
			return roleKey{}, false
		}
		return contextKey(principal, sub)
	case strings.HasPrefix(s, urnInstitution):
		return nameKey(scopeInstitution, s[len(urnInstitution):])
	case strings.HasPrefix(s, urnSystem):
		return nameKey(scopeSystem, s[len(urnSystem):])
	default:
		// A simple name is a context role (LTI 1.3 Core §A.2.3).
		return contextKey(s, "")
	}
}

func nameKey(scope roleScope, name string) (roleKey, bool) {
	if !isName(name) {
		return roleKey{}, false
	}
	return roleKey{scope: scope, principal: name}, true
}

// contextKey builds the key of a context role, reading the LTI 1.1 principal
// role TeachingAssistant as the LTI 1.3 sub-role Instructor#TeachingAssistant.
func contextKey(principal, sub string) (roleKey, bool) {
	if !isName(principal) {
		return roleKey{}, false
	}
	if principal == "TeachingAssistant" {
		if sub == "" {
			sub = "TeachingAssistant"
		}
		principal = "Instructor"
	}
	return roleKey{scope: scopeContext, principal: principal, sub: sub}, true
}

// isName reports whether s can be a role name: not empty, and free of the
// separators and characters that only appear in URIs and URNs.
func isName(s string) bool {
	return s != "" && !strings.ContainsAny(s, ":/#?")
}
