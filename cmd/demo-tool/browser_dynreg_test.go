package main

import (
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ltikit/ltikit/ltitest"
)

// TestBrowserDynamicRegistration registers the demo tool with an LMS
// through LTI Dynamic Registration, in headless Chromium, with a one-time
// link made by the CLI, and then launches it: the whole onboarding of an
// LMS without copying one URL by hand.
//
// The LMS (an ltitest platform, which knows nothing of the tool yet) runs
// on 127.0.0.1 and the tool on localhost, different sites. The admin page
// of the LMS frames the tool's registration URL with the platform's
// openid_configuration and a registration token; the tool fetches the
// configuration, posts its own, stores the registration and deployment
// the platform answers with, and its last page posts
// org.imsglobal.lti.close to the LMS, which then says "registration
// closed". The platform adopts the tool's URLs from the registration, so
// its launch link then goes to the tool.
func TestBrowserDynamicRegistration(t *testing.T) {
	t.Parallel()
	ctx := newChromium(t)
	lms, err := ltitest.NewPlatform(ltitest.Config{ClientID: "dr-client", DeploymentID: "dr-deployment"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(lms.Close)
	if !strings.HasPrefix(lms.URL(), "http://127.0.0.1:") {
		t.Fatalf("the LMS runs at %s, want 127.0.0.1 (a site other than the tool's)", lms.URL())
	}

	port := freePort(t)
	toolBase := fmt.Sprintf("http://localhost:%d", port)
	dir := t.TempDir()
	db := filepath.Join(dir, "dynreg.db")
	res := runCLI(t, dir, nil, "registration", "link", "--base-url", toolBase, "--note", "browser test", "--db", db)
	if res.code != 0 {
		t.Fatalf("registration link: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	link := strings.TrimSpace(strings.SplitN(res.stdout, "\n", 2)[0])
	if !strings.HasPrefix(link, toolBase+pathRegister+"/") {
		t.Fatalf("registration link printed %q, want %s%s/<token>", link, toolBase, pathRegister)
	}
	n := startNode(t, dir, "--addr", fmt.Sprintf("127.0.0.1:%d", port), "--base-url", toolBase, "--db", db)
	shots := screenshotDir(t)

	// Register: the LMS's admin page frames the link.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(lms.RegisterToolURL(link)),
		chromedp.WaitVisible(chromedp.CSS("#status")),
		chromedp.Poll[chromedp.Void](`document.getElementById("status").textContent === "registration closed"`,
			chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(45*time.Second)),
	); err != nil {
		body, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
		t.Fatalf("registration: %v\npage: %s\nlogs:\n%s", err, body, n.logs.String())
	}
	saveScreenshot(ctx, t, filepath.Join(shots, "demo-tool-dynreg-closed.png"))
	regs := lms.ToolRegistrations()
	if len(regs) != 1 {
		t.Fatalf("the LMS received %d registrations, want 1", len(regs))
	}

	// The registration and its deployment are in the tool's database.
	res = runCLI(t, dir, nil, "platform", "show", "--issuer", lms.Issuer(), "--db", db)
	if res.code != 0 || !strings.Contains(res.stdout, "dr-client") || !strings.Contains(res.stdout, "dr-deployment") {
		t.Fatalf("platform show after the registration: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}

	// Launch: the LMS's launch link now goes to the registered tool.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(lms.URL()+ltitest.PathLaunch),
		chromedp.WaitVisible(chromedp.CSS("#user-name")),
	); err != nil {
		body, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
		t.Fatalf("launch after the registration: %v\npage: %s\nlogs:\n%s", err, body, n.logs.String())
	}
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if loc != toolBase+pathLaunch {
		t.Errorf("the launch page is at %s, want %s%s", loc, toolBase, pathLaunch)
	}
	saveScreenshot(ctx, t, filepath.Join(shots, "demo-tool-dynreg-launch.png"))

	// The link was single use: the LMS's admin page with it again shows
	// the tool's refusal, and nothing more reaches the LMS.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(lms.RegisterToolURL(link)),
		chromedp.WaitVisible(chromedp.CSS("#status")),
	); err != nil {
		t.Fatal(err)
	}
	initURL, err := lms.RegistrationInitiationURL(link)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(initURL)
	if err != nil {
		t.Fatal(err)
	}
	body := readBody(t, resp)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "unknown, used or expired") {
		t.Fatalf("a second registration with the link: %d\n%s", resp.StatusCode, body)
	}
	if got := len(lms.ToolRegistrations()); got != 1 {
		t.Fatalf("the LMS received %d registrations after the link was used, want 1", got)
	}
}

// readBody reads and closes resp's body.
func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
