package launch_test

import (
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ltikit/ltikit/adapters/memory"
	"github.com/ltikit/ltikit/keys"
	"github.com/ltikit/ltikit/launch"
	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/ltitest"
)

// lmsFixture is an id_token payload shaped after an LMS's public
// documentation (testdata/<lms>/README.md says where from), and what the
// launch must decode from it.
type lmsFixture struct {
	file         string
	messageType  string
	sub          string
	roles        []string
	kinds        map[string]bool // the Roles helpers that must answer true
	context      lti.Context
	resourceLink *lti.ResourceLink // nil: none (deep linking)
	custom       map[string]any
	// vendor is a vendor claim and the members it must have.
	vendor     string
	vendorWant map[string]any
	// check asserts anything else.
	check func(t *testing.T, l *launch.Launch)
}

var lmsFixtures = []lmsFixture{
	{
		file:        "canvas/idtoken_instructor_resource_link.json",
		messageType: lti.MessageResourceLink,
		sub:         "535fa085-f3ab-4bc2-8e73-d6dd2a2d3ba8",
		roles: []string{"http://purl.imsglobal.org/vocab/lis/v2/institution/person#Instructor",
			"http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor",
			"http://purl.imsglobal.org/vocab/lis/v2/system/person#User"},
		kinds: map[string]bool{"instructor": true},
		context: lti.Context{ID: "4dde05e8ca1973bcca9bffc13e1548820eee93a3", Label: "BIO101", Title: "Biology 101",
			Type: []string{"http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering"}},
		resourceLink: &lti.ResourceLink{ID: "4dde05e8ca1973bcca9bffc13e1548820eee93a3", Title: "Biology 101"},
		custom:       map[string]any{"canvas_course_id": "1234", "canvas_user_id": "5678"},
		vendor:       "https://www.instructure.com/placement",
		check: func(t *testing.T, l *launch.Launch) {
			var placement string
			if ok, err := l.Claim("https://www.instructure.com/placement", &placement); !ok || err != nil || placement != "course_navigation" {
				t.Errorf("placement %q (%v, %v)", placement, ok, err)
			}
			c := l.Claims
			if c.AuthorizedParty == "" || c.Picture == "" || c.Locale != "en" || c.LaunchPresentation == nil ||
				c.LaunchPresentation.Height != "400" || c.LaunchPresentation.Width != "800" {
				t.Errorf("azp %q, picture %q, locale %q, launch_presentation %+v", c.AuthorizedParty, c.Picture, c.Locale, c.LaunchPresentation)
			}
			if c.AGS == nil || c.AGS.LineItems == "" || c.AGS.LineItem != "" || c.NRPS == nil || c.NRPS.ServiceVersions[0] != "2.0" {
				t.Errorf("services: AGS %+v, NRPS %+v", c.AGS, c.NRPS)
			}
			if c.LIS == nil || c.LIS.CourseOfferingSourcedID != "SIS-BIO101-2025" || c.LTI11 == nil ||
				c.LTI11.UserID != "b0be1d1d0a2f64749cc50020c0493674dcf6b49c" {
				t.Errorf("lis %+v, lti1p1 %+v", c.LIS, c.LTI11)
			}
			var legacy string
			if ok, _ := l.Claim("https://purl.imsglobal.org/spec/lti/claim/lti11_legacy_user_id", &legacy); !ok || legacy == "" {
				t.Errorf("lti11_legacy_user_id %q", legacy)
			}
		},
	},
	{
		file:        "canvas/idtoken_instructor_deep_linking_request.json",
		messageType: lti.MessageDeepLinking,
		sub:         "535fa085-f3ab-4bc2-8e73-d6dd2a2d3ba8",
		roles: []string{"http://purl.imsglobal.org/vocab/lis/v2/institution/person#Instructor",
			"http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor",
			"http://purl.imsglobal.org/vocab/lis/v2/system/person#User"},
		kinds: map[string]bool{"instructor": true},
		context: lti.Context{ID: "4dde05e8ca1973bcca9bffc13e1548820eee93a3", Label: "BIO101", Title: "Biology 101",
			Type: []string{"http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering"}},
		custom: map[string]any{"canvas_course_id": "1234", "canvas_user_id": "5678"},
		vendor: "https://www.instructure.com/placement",
		check: func(t *testing.T, l *launch.Launch) {
			if !l.IsDeepLinking() {
				t.Error("not a deep linking launch")
			}
			dl := l.Claims.DeepLinking
			if dl == nil || dl.DeepLinkReturnURL != "https://example.instructure.com/courses/1234/deep_linking_response?modal=true" ||
				!cmp.Equal(dl.AcceptTypes, []string{"link", "file", "html", "ltiResourceLink", "image"}) ||
				!cmp.Equal(dl.AcceptPresentationDocumentTargets, []string{"embed", "iframe", "window"}) ||
				dl.AcceptMultiple == nil || !*dl.AcceptMultiple || dl.AutoCreate == nil || *dl.AutoCreate || dl.Data != "placeholder-opaque-data" {
				t.Errorf("deep_linking_settings %+v", dl)
			}
			var placement string
			if ok, _ := l.Claim("https://www.instructure.com/placement", &placement); !ok || placement != "link_selection" {
				t.Errorf("placement %q", placement)
			}
		},
	},
	{
		file:        "blackboard/idtoken_student_resource_link.json",
		messageType: lti.MessageResourceLink,
		sub:         "561ac4762b5142a0b1d3ed1aa40789c1",
		roles: []string{"http://purl.imsglobal.org/vocab/lis/v2/membership#Learner",
			"http://purl.imsglobal.org/vocab/lis/v2/institution/person#Student",
			"http://purl.imsglobal.org/vocab/lis/v2/system/person#User"},
		kinds: map[string]bool{"learner": true},
		context: lti.Context{ID: "d2c4e6f8a0b1c3d5e7f9a1b3c5d7e9f1", Label: "BIO101-2025", Title: "Biology 101",
			Type: []string{"http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering"}},
		resourceLink: &lti.ResourceLink{ID: "_123_1", Title: "Week 1 reading", Description: "The tool's first activity"},
		custom:       map[string]any{},
		vendor:       "https://blackboard.com/lti/claim/one_time_session_token",
		check: func(t *testing.T, l *launch.Launch) {
			tp := l.Claims.ToolPlatform
			if tp == nil || tp.ProductFamilyCode != "BlackboardLearn" || tp.Name != "Blackboard, Inc." {
				t.Errorf("tool_platform %+v", tp)
			}
			if ags := l.Claims.AGS; ags == nil || ags.LineItem != "https://learn.example.edu/learn/api/v1/lti/courses/_4_1/lineItems/_40_1" {
				t.Errorf("AGS %+v", ags)
			}
		},
	},
	{
		file:        "brightspace/idtoken_student_resource_link.json",
		messageType: lti.MessageResourceLink,
		sub:         "bc0b6db9-4a8e-4a0e-8f1e-2d3c4b5a6978_169",
		roles: []string{"http://purl.imsglobal.org/vocab/lis/v2/institution/person#Student",
			"http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"},
		kinds: map[string]bool{"learner": true},
		context: lti.Context{ID: "6606", Label: "BIO101", Title: "Biology 101",
			Type: []string{"http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering"}},
		resourceLink: &lti.ResourceLink{ID: "5f2c8a1e-3d7b-4c9e-a1f3-6b8d0e2a4c6f", Title: "Week 1 quiz"},
		custom:       map[string]any{"course_code": "BIO101"},
		vendor:       "http://www.brightspace.com",
		vendorWant: map[string]any{"tenant_id": "bc0b6db9-4a8e-4a0e-8f1e-2d3c4b5a6978", "org_defined_id": "S1234567",
			"user_id": json.Number("169"), "username": "stu.dent", "Context.id.history": "", "ResourceLink.id.history": ""},
		check: func(t *testing.T, l *launch.Launch) {
			if l.Claims.Locale != "" || l.Claims.LaunchPresentation == nil || l.Claims.LaunchPresentation.Locale != "en-US" {
				t.Errorf("locale %q, launch_presentation %+v", l.Claims.Locale, l.Claims.LaunchPresentation)
			}
		},
	},
	{
		file:        "sakai/idtoken_instructor_resource_link.json",
		messageType: lti.MessageResourceLink,
		sub:         "8a2c4e6f-0b1d-4f3a-9c5e-7b9d1f3a5c7e",
		roles:       []string{"http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"},
		kinds:       map[string]bool{"instructor": true},
		context: lti.Context{ID: "3f0c2a4e-6b8d-4a1c-9e3f-5b7d9f1a3c5e", Label: "BIO101", Title: "Biology 101",
			Type: []string{"http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering"}},
		resourceLink: &lti.ResourceLink{ID: "content:42", Title: "ltikit demo-tool"},
		custom:       map[string]any{"chapter": "3"},
		vendor:       "https://www.sakailms.org/spec/lti/claim/extension",
		vendorWant: map[string]any{"sakai_role": "maintain", "sakai_server": "https://sakai.example.edu",
			"sakai_serverid": "sakai1", "sakai_eid": "teacher1", "sakai_academic_session": "OTHER",
			"sakai_launch_presentation_css_url_list": "https://sakai.example.edu/library/skin/tool_base.css"},
	},
}

// fixtureTool is a tool (over TLS, as the Secure state cookie requires)
// whose launch handler hands each launch to the test.
type fixtureTool struct {
	srv   *httptest.Server
	store *memory.Store
	tool  *launch.Tool

	mu   sync.Mutex
	last *launch.Launch
}

func newFixtureTool(t *testing.T) *fixtureTool {
	t.Helper()
	ft := &fixtureTool{store: memory.New()}
	mux := http.NewServeMux()
	ft.srv = httptest.NewUnstartedServer(mux)
	ft.srv.StartTLS()
	t.Cleanup(ft.srv.Close)
	var err error
	ft.tool, err = launch.New(launch.Config{Storage: ft.store, BaseURL: ft.srv.URL,
		Keys: keys.NewCache(keys.WithMinRefreshInterval(time.Hour))})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/lti/login", ft.tool.LoginHandler())
	mux.Handle("/lti/launch", ft.tool.LaunchHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l, ok := launch.FromContext(r.Context())
		if !ok {
			http.Error(w, "no launch", http.StatusInternalServerError)
			return
		}
		ft.mu.Lock()
		ft.last = l
		ft.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	})))
	return ft
}

func (ft *fixtureTool) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Transport: acceptJSON{ft.srv.Client().Transport}, Timeout: 10 * time.Second}
}

// loadFixture reads a fixture's claims.
func loadFixture(t *testing.T, file string) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(raw, &claims); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return claims
}

// TestLMSFixtures launches every LMS fixture through the real pipeline: a
// test platform registered with the fixture's client_id and deployment_id
// runs the login and signs the fixture's claims with only iss, nonce, iat,
// exp and target_link_uri made its own (they depend on the platform and
// the login), and the tool's launch context must decode what the LMS sent.
func TestLMSFixtures(t *testing.T) {
	for _, fx := range lmsFixtures {
		t.Run(fx.file, func(t *testing.T) {
			claims := loadFixture(t, fx.file)
			clientID, _ := claims["aud"].(string)
			deploymentID, _ := claims[lti.ClaimDeploymentID].(string)
			if clientID == "" || deploymentID == "" {
				t.Fatalf("the fixture has no string aud (%v) or deployment_id (%v)", claims["aud"], claims[lti.ClaimDeploymentID])
			}

			ft := newFixtureTool(t)
			platform, err := ltitest.NewPlatform(ltitest.Config{
				ClientID:         clientID,
				DeploymentID:     deploymentID,
				ToolLoginURL:     ft.srv.URL + "/lti/login",
				ToolRedirectURIs: []string{ft.srv.URL + "/lti/launch"},
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(platform.Close)
			if err := ft.store.AddRegistration(platform.Registration()); err != nil {
				t.Fatal(err)
			}
			if err := ft.store.AddDeployment(platform.Registration().Key(), platform.Deployment()); err != nil {
				t.Fatal(err)
			}

			resp, err := platform.Launch(t.Context(), ft.browser(), ltitest.WithClaims(func(c map[string]any) {
				own := map[string]any{}
				for _, k := range []string{"iss", "nonce", "iat", "exp", lti.ClaimTargetLinkURI} {
					own[k] = c[k]
				}
				clear(c)
				for k, v := range claims {
					c[k] = v
				}
				for k, v := range own {
					c[k] = v
				}
			}))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("launch: %s", resp.Status)
			}
			ft.mu.Lock()
			l := ft.last
			ft.mu.Unlock()
			if l == nil {
				t.Fatal("the launch did not reach the tool's handler")
			}

			if l.MessageType() != fx.messageType || l.DeploymentID() != deploymentID || l.Subject() != fx.sub ||
				l.Registration.ClientID != clientID || l.Claims.Issuer != platform.Issuer() {
				t.Errorf("message_type %q, deployment %q, sub %q, client_id %q, iss %q",
					l.MessageType(), l.DeploymentID(), l.Subject(), l.Registration.ClientID, l.Claims.Issuer)
			}
			if diff := cmp.Diff(fx.roles, []string(l.Roles())); diff != "" {
				t.Errorf("roles (-want +got):\n%s", diff)
			}
			roles := l.Roles()
			for kind, is := range map[string]func() bool{"instructor": roles.IsInstructor, "learner": roles.IsLearner,
				"admin": roles.IsAdmin, "mentor": roles.IsMentor} {
				if is() != fx.kinds[kind] {
					t.Errorf("roles %s: %v, want %v", kind, is(), fx.kinds[kind])
				}
			}
			if l.Claims.Context == nil {
				t.Fatal("no context")
			}
			if diff := cmp.Diff(fx.context, *l.Claims.Context); diff != "" {
				t.Errorf("context (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(fx.resourceLink, l.Claims.ResourceLink); diff != "" {
				t.Errorf("resource_link (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(fx.custom, l.Claims.Custom); diff != "" {
				t.Errorf("custom (-want +got):\n%s", diff)
			}
			// The vendor claim is reachable as it was sent.
			raw, ok, err := l.RawClaim(fx.vendor)
			if !ok || err != nil {
				t.Fatalf("vendor claim %s: present %v, %v", fx.vendor, ok, err)
			}
			var sent any
			if err := json.Unmarshal(raw, &sent); err != nil || !cmp.Equal(sent, claims[fx.vendor]) {
				t.Errorf("vendor claim %s is %s, sent %v", fx.vendor, raw, claims[fx.vendor])
			}
			if fx.vendorWant != nil {
				all, err := l.ClaimsMap()
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(fx.vendorWant, all[fx.vendor]); diff != "" {
					t.Errorf("vendor claim through ClaimsMap (-want +got):\n%s", diff)
				}
			}
			if fx.check != nil {
				fx.check(t, l)
			}
		})
	}
}
