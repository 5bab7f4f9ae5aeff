package dynreg

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/ltikit/ltikit/deployment"
	"github.com/ltikit/ltikit/internal/errbody"
)

var errCrossOrigin = errors.New("redirect to another origin")

// clients returns copies of the host's client: one for the configuration
// fetch, which follows at most MaxRedirects redirects within the first
// URL's origin, and one for the registration post, which follows none (a
// redirected post would carry the registration token elsewhere).
func (o *options) clients() (get, post *http.Client) {
	g := *o.client
	g.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) > MaxRedirects {
			return fmt.Errorf("more than %d redirects", MaxRedirects)
		}
		if origin(req.URL) != origin(via[0].URL) {
			return errCrossOrigin
		}
		if _, err := o.policy.check(req.URL.String()); err != nil {
			return fmt.Errorf("redirect target %w", err)
		}
		return nil
	}
	p := *o.client
	p.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &g, &p
}

// origin returns scheme://host of u, lower-cased.
func origin(u *url.URL) string {
	return strings.ToLower(u.Scheme + "://" + u.Host)
}

// isJSON reports whether a Content-Type is JSON: application/json or a
// +json type.
func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

// readBody reads at most max bytes of r; more is an error.
func readBody(r io.Reader, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("answer is larger than %d bytes", max)
	}
	return b, nil
}

// fetchConfiguration GETs the platform's OpenID configuration (LTI Dynamic
// Registration 1.0 §3.4) and parses and validates it.
func (h *Handler) fetchConfiguration(ctx context.Context, configURL string) (*PlatformConfiguration, error) {
	ctx, cancel := context.WithTimeout(ctx, h.o.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, configURL, nil)
	if err != nil {
		return nil, ErrInvalidRequest.with("the openid_configuration URL is not usable", "openid_configuration", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := h.get.Do(req)
	if err != nil {
		return nil, ErrConfigurationUnavailable.with("", "", redact(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, ErrConfigurationUnavailable.with("", "", nil).withPlatform(resp.StatusCode, "", "")
	}
	if !isJSON(resp.Header.Get("Content-Type")) {
		return nil, configError("", "is not served as JSON")
	}
	body, err := readBody(resp.Body, h.o.maxBody)
	if err != nil {
		var e *Error
		if ctx.Err() != nil {
			e = ErrConfigurationUnavailable.with("", "", err)
		} else {
			e = configError("", "could not be read in full")
			e.cause = err
		}
		return nil, e
	}
	return h.o.parseConfiguration(body, configURL)
}

// redact drops the query of the URL in a *url.Error: some platforms put
// the registration token in the openid_configuration URL, and errors end
// up in logs.
func redact(err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err
	}
	c := *ue
	if u, perr := url.Parse(ue.URL); perr == nil {
		u.RawQuery, u.Fragment, u.User = "", "", nil
		c.URL = u.String()
	} else {
		c.URL = "(unparsable URL)"
	}
	return &c
}

// postRegistration posts the tool's configuration to the platform's
// registration endpoint (§3.5.2), with the registration token as a bearer
// token when the initiation request carried one, and reads the answer
// (§3.6).
func (h *Handler) postRegistration(ctx context.Context, endpoint, token string, tool *ToolConfiguration) (*ToolConfiguration, error) {
	body, err := json.Marshal(tool)
	if err != nil {
		return nil, ErrRegistrationFailed.with("", "", err)
	}
	ctx, cancel := context.WithTimeout(ctx, h.o.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, ErrRegistrationFailed.with("", "", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := h.post.Do(req)
	if err != nil {
		return nil, ErrRegistrationFailed.with("the platform's registration endpoint could not be reached", "", redact(err))
	}
	defer resp.Body.Close()
	data, readErr := readBody(resp.Body, h.o.maxBody)
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		// The platform's words: its RFC 7591 §3.2.2 error and description
		// (the members of RFC 6749 §5.2) when it sent them, else a cleaned
		// excerpt of its body (Canvas answers 422 {"errors": [...]}).
		var code, desc string
		if readErr == nil {
			if o, ok := errbody.ParseOAuth(data); ok {
				code, desc = o.Error, o.Description
			} else {
				desc = errbody.Excerpt(data)
			}
		}
		return nil, ErrRegistrationRefused.with("", "", nil).withPlatform(resp.StatusCode, code, desc)
	}
	if readErr != nil {
		return nil, ErrRegistrationFailed.with("the platform's answer could not be read in full", "", readErr)
	}
	if !isJSON(resp.Header.Get("Content-Type")) {
		return nil, ErrRegistrationFailed.with("the platform's answer is not JSON", "", nil)
	}
	return parseAnswer(data)
}

// parseAnswer parses a registration answer (§3.6): a JSON object with a
// client_id, and maybe a deployment_id in the lti-tool-configuration.
func parseAnswer(data []byte) (*ToolConfiguration, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return nil, ErrRegistrationFailed.with("the platform's answer is not a JSON object", "", nil)
	}
	var a ToolConfiguration
	if err := json.Unmarshal(data, &a); err != nil {
		return nil, ErrRegistrationFailed.with("the platform's answer is not valid JSON of the expected shape", "", err)
	}
	switch {
	case a.ClientID == "":
		return nil, ErrRegistrationFailed.with("the platform's answer has no client_id", "client_id", nil)
	case len(a.ClientID) > 1024:
		return nil, ErrRegistrationFailed.with("the platform's client_id is too long", "client_id", nil)
	case len(a.LTI.DeploymentID) > deployment.MaxIDLength:
		return nil, ErrRegistrationFailed.with("the platform's deployment_id is too long", ToolConfigurationClaim+".deployment_id", nil)
	}
	return &a, nil
}
