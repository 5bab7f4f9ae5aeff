package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary serve as the own-process target's child,
// as the ltibench binary does.
func TestMain(m *testing.M) {
	if cfg := os.Getenv(childEnv); cfg != "" {
		os.Exit(serveChild(cfg, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// TestOwnProcess runs a few launches against the library's handlers in a
// child process, whose CPU comes from /proc and allocations from its own
// counters.
func TestOwnProcess(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	jsonPath := filepath.Join(t.TempDir(), "out.json")
	code := run(ctx, []string{"-targets", "own-process", "-stores", "memory", "-clients", "2", "-launches", "40",
		"-warmup", "5", "-micro", "0", "-floors", "0", "-json", jsonPath}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("ltibench exited %d:\n%s\n%s", code, stdout.String(), stderr.String())
	}
	b, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Configurations []struct {
			Launches, Errors int
			Allocs           float64 `json:"allocs_per_launch"`
			CPU              float64 `json:"server_cpu_ms_per_launch"`
			Source           string  `json:"server_cpu_source"`
			Refused          bool    `json:"replay_refused"`
		} `json:"configurations"`
	}
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Configurations) != 1 {
		t.Fatalf("configurations: %+v", res.Configurations)
	}
	c := res.Configurations[0]
	if c.Errors != 0 || c.Launches != 40 || !c.Refused || c.Allocs <= 0 || !strings.HasPrefix(c.Source, "/proc/") {
		t.Errorf("own-process: %+v", c)
	}
}

// TestSmoke is ltibench's CI run: a couple of hundred complete launches over
// HTTP against the in-process server on SQLite and on PostgreSQL
// (LTIKIT_TEST_POSTGRES_DSN; under CI=true a missing database fails), with
// short floor and validation measurements. Every launch must succeed and
// the replayed launch must be refused; the table, the JSON and the chart
// must be written. Timings are not judged here: the targets are read from
// a full run's output (see README, "Benchmarks").
func TestSmoke(t *testing.T) {
	stores := "memory,sqlite"
	if os.Getenv("LTIKIT_TEST_POSTGRES_DSN") != "" {
		stores += ",postgres"
	} else if os.Getenv("CI") == "true" {
		t.Fatal("LTIKIT_TEST_POSTGRES_DSN is not set and CI=true: the smoke run needs PostgreSQL")
	} else {
		t.Log("LTIKIT_TEST_POSTGRES_DSN is not set: smoke run without PostgreSQL")
	}
	// 60 launches per store: every assertion below is per launch (none
	// failed, the replay refused, two rows written, no key set fetched)
	// or on the output's presence, none on the count, and 200 per store
	// tripled the run's CPU (RSA signing and validation under -race).
	launches := "60"
	dir := t.TempDir()
	jsonPath, chartPath := filepath.Join(dir, "out.json"), filepath.Join(dir, "out.svg")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{
		"-targets", "in-process", "-stores", stores, "-clients", "4", "-launches", launches, "-warmup", "20",
		"-micro", "300ms", "-floors", "200ms", "-json", jsonPath, "-chart", chartPath,
	}, &stdout, &stderr)
	t.Logf("ltibench output:\n%s", stdout.String())
	if code != 0 {
		t.Fatalf("ltibench exited %d:\n%s", code, stderr.String())
	}

	b, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Validation struct {
			Ratio  float64 `json:"ratio"`
			Allocs float64 `json:"allocs_per_launch"`
			Error  string  `json:"error"`
		} `json:"validation"`
		Configurations []struct {
			Target        string  `json:"target"`
			Store         string  `json:"store"`
			Launches      int     `json:"launches"`
			Errors        int     `json:"errors"`
			LaunchesPerS  float64 `json:"launches_per_s"`
			ReplayChecked bool    `json:"replay_checked"`
			ReplayRefused bool    `json:"replay_refused"`
			ReplayStatus  int     `json:"replay_status"`
			Writes        float64 `json:"db_writes_per_launch"`
			JWKS          int64   `json:"jwks_fetches"`
		} `json:"configurations"`
	}
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatalf("JSON output: %v", err)
	}
	if res.Validation.Error != "" || res.Validation.Ratio <= 0 || res.Validation.Allocs <= 0 {
		t.Errorf("validation measurement: %+v", res.Validation)
	}
	want := len(strings.Split(stores, ","))
	if len(res.Configurations) != want {
		t.Fatalf("%d configurations, want %d", len(res.Configurations), want)
	}
	for _, c := range res.Configurations {
		name := c.Target + "/" + c.Store
		if c.Errors != 0 || c.Launches == 0 || c.LaunchesPerS <= 0 {
			t.Errorf("%s: %d launches, %d errors, %.0f/s", name, c.Launches, c.Errors, c.LaunchesPerS)
		}
		if !c.ReplayChecked || !c.ReplayRefused || c.ReplayStatus != 401 {
			t.Errorf("%s: replay checked %v, refused %v (status %d), want refused with 401", name, c.ReplayChecked, c.ReplayRefused, c.ReplayStatus)
		}
		if c.JWKS != 0 {
			t.Errorf("%s: %d key set fetches during the measured launches, want 0 (cached)", name, c.JWKS)
		}
		if c.Store != "memory" && c.Writes != 2 {
			t.Errorf("%s: %.2f database writes per launch, want 2", name, c.Writes)
		}
	}
	svg, err := os.ReadFile(chartPath)
	if err != nil || !bytes.HasPrefix(svg, []byte("<svg")) {
		t.Errorf("chart: %v %.40q", err, svg)
	}
	if !strings.Contains(stdout.String(), "Complete launches over HTTP") {
		t.Errorf("no results table on standard output")
	}
}
