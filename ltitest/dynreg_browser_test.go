package ltitest

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserDynamicRegistration runs LTI Dynamic Registration in
// Chromium the way an LMS admin does: the platform on 127.0.0.1 opens the
// tool's registration URL on http://localhost:PORT in an iframe of its
// /register-tool page; the tool fetches the platform's configuration,
// registers, stores the registration and answers a page that posts
// org.imsglobal.lti.close to the platform, which then says "registration
// closed". A launch afterwards reaches the tool.
func TestBrowserDynamicRegistration(t *testing.T) {
	ctx := newChromium(t)
	tool := newDynRegTool(t, "localhost")
	p, err := NewPlatform(Config{RequireRegistrationToken: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()

	if err := chromedp.Do(ctx, chromedp.Navigate(p.RegisterToolURL(tool.base+toolRegisterPath+"?invite=ok"))); err != nil {
		t.Fatal(err)
	}
	closed, err := chromedp.Run(ctx, chromedp.Poll[bool](
		`document.getElementById("status").textContent === "registration closed"`,
		chromedp.WithPollingTimeout(45*time.Second)))
	if err != nil || !closed {
		text, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
		t.Fatalf("no close message (%v); the page shows:\n%s\nregistrations: %+v", err, text, p.ToolRegistrations())
	}
	if frames, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("iframe").length`)); frames != 0 {
		t.Errorf("the registration frame is still open")
	}

	regs := p.ToolRegistrations()
	if len(regs) != 1 || regs[0].Status != http.StatusCreated || regs[0].LoginURL != tool.base+"/lti/login" {
		t.Fatalf("registrations %+v", regs)
	}
	entries, err := tool.store.Registrations(t.Context())
	if err != nil || len(entries) != 1 || entries[0].Registration.Issuer != p.Issuer() {
		t.Fatalf("stored %+v, %v", entries, err)
	}

	// The registered tool launches (from Go: the browser part is done).
	resp, err := p.Launch(t.Context(), NewBrowser(), AsInstructor())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(string(b), "launched LtiResourceLinkRequest") {
		t.Fatalf("launch: %d %s", resp.StatusCode, b)
	}
}
