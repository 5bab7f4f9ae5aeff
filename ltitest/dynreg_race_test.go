package ltitest

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// TestRegistrationsDuringLaunches runs registrations (through the tool's
// dynreg.Handler and as plain posts to the registration endpoint) while
// launches and the pages that read the tool's URLs run. Under -race it
// proves that adopting a registration does not race with launches; without
// it, it still proves every launch sees one whole configuration.
func TestRegistrationsDuringLaunches(t *testing.T) {
	tool := newDynRegTool(t, "")
	p, err := NewPlatform(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()

	// A first registration gives the platform the tool's URLs and the
	// request body a plain post repeats.
	register := func() error {
		u, err := p.RegistrationInitiationURL(tool.base + toolRegisterPath + "?invite=ok")
		if err != nil {
			return err
		}
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || !bytes.Contains(b, []byte("Registration complete")) {
			return fmt.Errorf("registration through the tool: %d %.200s", resp.StatusCode, b)
		}
		return nil
	}
	if err := register(); err != nil {
		t.Fatal(err)
	}
	regs := p.ToolRegistrations()
	if len(regs) != 1 || regs[0].Status != http.StatusCreated {
		t.Fatalf("registrations %+v", regs)
	}
	body := regs[0].Body
	post := func() error {
		req, _ := http.NewRequest(http.MethodPost, p.RegistrationEndpoint(), bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			return fmt.Errorf("plain registration post: %s", resp.Status)
		}
		return nil
	}
	get := func(path string) error {
		req, _ := http.NewRequest(http.MethodGet, p.URL()+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", path, resp.Status)
		}
		return nil
	}
	launch := func(i int) error {
		opts := []LaunchOption{AsLearner()}
		switch i % 3 {
		case 1:
			opts = []LaunchOption{WithLoginMethod("GET")}
		case 2:
			opts = []LaunchOption{DeepLinking()}
		}
		resp, err := p.Launch(t.Context(), NewBrowser(), opts...)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(string(b), "launched Lti") {
			return fmt.Errorf("launch: %d %.200s", resp.StatusCode, b)
		}
		return nil
	}

	const workers, rounds = 8, 3
	var wg sync.WaitGroup
	errs := make(chan error, 6*workers*rounds) // at most 6 sends a worker pair and round
	for i := range workers {
		// Launches, and the other readers of the tool's URLs.
		wg.Go(func() {
			for r := range rounds {
				errs <- launch(i*rounds + r)
				c := p.Config()
				if c.ToolLoginURL != tool.base+"/lti/login" || len(c.ToolRedirectURIs) != 1 {
					errs <- fmt.Errorf("config %+v", c)
				}
				if _, err := p.ToolKeySet(t.Context()); err != nil && strings.Contains(err.Error(), "no tool key set") {
					errs <- err
				}
				errs <- get(PathFrame + "?role=learner")
				errs <- get("/")
			}
		})
		// Registrations: half through the tool's dynreg.Handler, half as
		// plain posts.
		wg.Go(func() {
			for range rounds {
				if i%2 == 0 {
					errs <- register()
				} else {
					errs <- post()
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := len(p.ToolRegistrations()); n != 1+workers*rounds {
		t.Errorf("%d registrations recorded, want %d", n, 1+workers*rounds)
	}
	for _, r := range p.ToolRegistrations() {
		if r.Status != http.StatusCreated {
			t.Errorf("registration refused: %+v", r)
		}
	}
}
