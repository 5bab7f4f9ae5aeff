package deeplink

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ltikit/ltikit/lti"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// noSigner is a Signer for tests that only build claims.
type noSigner struct{}

func (noSigner) SignJWT(context.Context, map[string]any) (string, error) {
	return "", errors.New("not signing")
}

// TestGoldenMoodle builds the answer to Moodle 4.5's deep linking request
// that the stub sent and Moodle accepted, and compares the claims: the same
// claim names, the same values, except the nonce (fresh) and exp (ours is
// shorter). The claims are also kept as a golden file.
func TestGoldenMoodle(t *testing.T) {
	raw := moodleClaims(t)
	var mc struct {
		Iss        string `json:"iss"`
		Aud        string `json:"aud"`
		Deployment string `json:"https://purl.imsglobal.org/spec/lti/claim/deployment_id"`
	}
	if err := json.Unmarshal(raw, &mc); err != nil {
		t.Fatal(err)
	}
	req, err := parseClaims(raw)
	if err != nil {
		t.Fatal(err)
	}
	req.Issuer, req.ClientID, req.DeploymentID = mc.Iss, mc.Aud, mc.Deployment

	b, err := os.ReadFile("testdata/moodle-4.5/deep_linking_response_sent_by_stub.json")
	if err != nil {
		t.Fatal(err)
	}
	var stub struct {
		Claims    map[string]any `json:"claims"`
		ReturnURL string         `json:"return_url"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&stub); err != nil {
		t.Fatal(err)
	}
	if req.ReturnURL != stub.ReturnURL {
		t.Fatalf("return URL %q; the stub posted to %q", req.ReturnURL, stub.ReturnURL)
	}

	iat, _ := stub.Claims["iat"].(json.Number).Int64()
	r, err := New(Config{Signer: noSigner{}}, WithClock(func() time.Time { return time.Unix(iat, 0) }))
	if err != nil {
		t.Fatal(err)
	}
	claims, err := r.Claims(&Response{Request: req, Items: []Item{LTIResourceLink{
		URL:      "http://127.0.0.1:9000/launch",
		Title:    "Stub deep-linked item",
		Custom:   map[string]string{"picked": "item42"},
		LineItem: &LineItem{Label: "Stub DL grade", ScoreMaximum: 10},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	ours := roundTripJSON(t, claims)

	if got, want := sortedKeys(ours), sortedKeys(stub.Claims); !reflect.DeepEqual(got, want) {
		t.Fatalf("claim names\n got %v\nwant %v", got, want)
	}
	for name, want := range stub.Claims {
		got := ours[name]
		switch name {
		case "nonce":
			if s, _ := got.(string); len(s) < 22 || s == want {
				t.Errorf("nonce %q", got)
			}
		case "exp":
			exp, _ := got.(json.Number).Int64()
			if exp <= iat || exp-iat > int64(MaxLifetime/time.Second) {
				t.Errorf("exp - iat = %d s", exp-iat)
			}
		default:
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("claim %s (-stub +ours):\n%s", name, diff)
			}
		}
	}

	// The golden file: the claims with the nonce masked.
	ours["nonce"] = "NONCE"
	golden, err := json.MarshalIndent(ours, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden = append(golden, '\n')
	const path = "testdata/moodle_response.golden.json"
	if *update {
		if err := os.WriteFile(path, golden, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run TestGoldenMoodle -update)", err)
	}
	if diff := cmp.Diff(string(want), string(golden)); diff != "" {
		t.Fatalf("%s (-golden +got):\n%s", path, diff)
	}
	if ours[lti.ClaimMessageType] != MessageTypeResponse {
		t.Fatalf("message_type %v", ours[lti.ClaimMessageType])
	}
}

// roundTripJSON marshals claims as a signer would and decodes them back.
func roundTripJSON(t *testing.T, claims map[string]any) map[string]any {
	t.Helper()
	b, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

func sortedKeys(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
