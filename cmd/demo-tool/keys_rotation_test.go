package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ltikit/ltikit/toolkey"
)

// TestCLIKeysRotatePublishesBeforeUse (issue "Hardening", item 9): 'keys
// rotate' publishes the new key at once but lets it sign only after the
// keyring's rotation delay, and says when; the previous key signs until
// then. 'keys rotate --now' makes the new key sign at once.
func TestCLIKeysRotatePublishesBeforeUse(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "keys.db")
	type key struct {
		KID        string     `json:"kid"`
		Status     string     `json:"status"`
		ActiveFrom *time.Time `json:"active_from"`
		RetiredAt  *time.Time `json:"retired_at"`
	}
	list := func() []key {
		t.Helper()
		res := mustCLI(t, dir, "keys", "list", "--json", "--db", db)
		var keys []key
		if err := json.Unmarshal([]byte(res.stdout), &keys); err != nil {
			t.Fatalf("keys list --json: %v\n%s", err, res.stdout)
		}
		return keys
	}
	mustCLI(t, dir, "keys", "rotate", "--db", db) // the first key
	first := list()
	if len(first) != 1 || first[0].Status != "active" {
		t.Fatalf("first list: %+v", first)
	}
	delay := toolkey.DefaultCacheTTL + toolkey.DefaultMaxAge + toolkey.DefaultRotationMargin

	before := time.Now()
	res := mustCLI(t, dir, "keys", "rotate", "--db", db)
	after := time.Now()
	keys := list()
	if len(keys) != 2 || keys[0].KID != first[0].KID || keys[0].Status != "active" || keys[1].Status != "next" {
		t.Fatalf("after a rotation: %+v; want the previous key active and the new one next", keys)
	}
	next := keys[1]
	if next.ActiveFrom == nil || next.ActiveFrom.Before(before.Add(delay).Add(-time.Second)) || next.ActiveFrom.After(after.Add(delay)) {
		t.Fatalf("the new key signs from %v; want about %s after the rotation", next.ActiveFrom, delay)
	}
	if r := keys[0].RetiredAt; r == nil || !r.Equal(*next.ActiveFrom) {
		t.Fatalf("the previous key retires %v; want when the new one takes over (%v)", r, next.ActiveFrom)
	}
	if want := "rotated: " + next.KID + " is published now and takes over signing at " + next.ActiveFrom.UTC().Format(time.RFC3339); !strings.Contains(res.stdout, want) ||
		!strings.Contains(res.stdout, "until then "+first[0].KID+" signs") {
		t.Errorf("rotate output:\n%s\nwant %q", res.stdout, want)
	}
	if !strings.Contains(res.stdout, next.KID+"  next") {
		t.Errorf("rotate output does not list the new key as next:\n%s", res.stdout)
	}

	res = mustCLI(t, dir, "keys", "rotate", "--now", "--db", db)
	keys = list()
	if len(keys) != 3 || keys[0].Status != "active" || keys[0].KID == first[0].KID || keys[0].KID == next.KID {
		t.Fatalf("after an emergency rotation: %+v; want a third key active", keys)
	}
	if !strings.Contains(res.stdout, "rotated: "+keys[0].KID+" signs now") {
		t.Errorf("rotate --now output:\n%s", res.stdout)
	}
	for _, k := range keys[1:] {
		if k.Status != "retired" {
			t.Errorf("after an emergency rotation %s is %s; want retired", k.KID, k.Status)
		}
	}
}
