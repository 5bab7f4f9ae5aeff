package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ltikit/ltikit/internal/pgtest"
	"github.com/ltikit/ltikit/internal/redistest"
)

// benchTestConns is the most PostgreSQL connections the runs below hold at
// once: with two clients, each tool node (at most two) has no more than
// two requests and its sweeper on the database, the bench's own pool two
// more, and one admin connection.
const benchTestConns = 2*3 + 2 + 1

// TestRedisStore runs a few launches in process on the redis store
// (states in Redis, registrations in PostgreSQL) next to the postgres
// store, as a comparison run does: every launch succeeds, the replay is
// refused, no row is written to the SQL login tables, and Redis's CPU is
// measured. (The CPU figures are differences of /proc readings of every
// postgres and redis-server process on the machine: a process that exits
// in between, such as another test's, can make one negative, so only
// whether they were measured is checked.)
func TestRedisStore(t *testing.T) {
	redisURL := redistest.URL(t)
	dsn := pgtest.Schema(t, "ltibench_redis_test_", benchTestConns)
	dir := t.TempDir()
	jsonPath := filepath.Join(dir, "out.json")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	// 30 launches per store: the assertions hold per launch or on the
	// count asked for, and more launches only cost CPU under -race.
	const launches = 30
	code := run(ctx, []string{"-targets", "in-process", "-stores", "postgres,redis", "-clients", "2", "-launches", strconv.Itoa(launches),
		"-warmup", "10", "-micro", "0", "-floors", "0", "-postgres", dsn, "-redis", redisURL, "-json", jsonPath}, &stdout, &stderr)
	t.Logf("ltibench output:\n%s", stdout.String())
	if code != 0 {
		t.Fatalf("ltibench exited %d:\n%s", code, stderr.String())
	}
	b, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Configurations []struct {
			Store    string  `json:"store"`
			Launches int     `json:"launches"`
			Errors   int     `json:"errors"`
			Refused  bool    `json:"replay_refused"`
			Writes   float64 `json:"db_writes_per_launch"`
			DBCPU    float64 `json:"db_cpu_ms_per_launch"`
			RedisCPU float64 `json:"redis_cpu_ms_per_launch"`
		} `json:"configurations"`
		Comparisons []struct {
			What string `json:"what"`
		} `json:"comparisons"`
	}
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Configurations) != 2 {
		t.Fatalf("configurations: %+v", res.Configurations)
	}
	for _, c := range res.Configurations {
		if c.Errors != 0 || c.Launches != launches || !c.Refused || c.DBCPU == -1 {
			t.Errorf("%s: %+v", c.Store, c)
		}
		switch c.Store {
		case "redis":
			if c.Writes != 0 || c.RedisCPU == -1 {
				t.Errorf("redis: %.2f SQL login-table rows per launch (want 0), Redis CPU %.3f ms (want measured)", c.Writes, c.RedisCPU)
			}
		case "postgres":
			if c.Writes != 2 || c.RedisCPU != -1 {
				t.Errorf("postgres: %.2f rows per launch (want 2), Redis CPU %.3f (want -1, not measured)", c.Writes, c.RedisCPU)
			}
		}
	}
	found := false
	for _, c := range res.Comparisons {
		found = found || c.What == "in-process_redis_vs_postgres_launches"
	}
	if !found || !strings.Contains(stdout.String(), "states in Redis = ") {
		t.Errorf("no Redis vs PostgreSQL comparison in the output")
	}
}

// TestOwnProcessRedisAndScaleOut runs the own-process target on the redis
// store and the scale-out target (two own-process nodes on one PostgreSQL
// schema, each login on one node, its launch post on the other) next to
// own-process on PostgreSQL, as a comparison run does: every launch
// succeeds, the replay (sent to the node that did not take the launch) is
// refused, the rows written per launch are those of one node, both nodes'
// CPU is measured, and the capacity and scale-out figures are printed.
func TestOwnProcessRedisAndScaleOut(t *testing.T) {
	redisURL := redistest.URL(t)
	dsn := pgtest.Schema(t, "ltibench_scaleout_test_", benchTestConns)
	jsonPath := filepath.Join(t.TempDir(), "out.json")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	// 40 launches per configuration: the assertions hold per launch or on
	// the count asked for, and each launch is RSA signing and validation
	// under -race in up to three processes.
	const launches = 40
	code := run(ctx, []string{"-targets", "own-process,own-process-2", "-stores", "postgres,redis", "-clients", "2", "-launches", strconv.Itoa(launches),
		"-warmup", "10", "-micro", "0", "-floors", "0", "-lookup-cache", "30s", "-postgres", dsn, "-redis", redisURL, "-json", jsonPath}, &stdout, &stderr)
	t.Logf("ltibench output:\n%s", stdout.String())
	if code != 0 {
		t.Fatalf("ltibench exited %d:\n%s", code, stderr.String())
	}
	b, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Configurations []struct {
			Target   string    `json:"target"`
			Store    string    `json:"store"`
			Launches int       `json:"launches"`
			Errors   int       `json:"errors"`
			Refused  bool      `json:"replay_refused"`
			Status   int       `json:"replay_status"`
			Writes   float64   `json:"db_writes_per_launch"`
			DBCPU    float64   `json:"db_cpu_ms_per_launch"`
			RedisCPU float64   `json:"redis_cpu_ms_per_launch"`
			StoreCPU float64   `json:"store_cpu_ms_per_launch"`
			Nodes    int       `json:"nodes"`
			NodeCPU  []float64 `json:"node_cpu_ms_per_launch"`
			Source   string    `json:"server_cpu_source"`
			JWKS     int64     `json:"jwks_fetches"`
		} `json:"configurations"`
	}
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Configurations) != 3 {
		t.Fatalf("configurations: %+v", res.Configurations)
	}
	for _, c := range res.Configurations {
		name := c.Target + "/" + c.Store
		if c.Errors != 0 || c.Launches != launches || !c.Refused || c.Status != 401 || c.JWKS != 0 || c.DBCPU < 0 || c.StoreCPU < 0 {
			t.Errorf("%s: %+v", name, c)
		}
		switch name {
		case "own-process/redis":
			if c.Writes != 0 || c.RedisCPU < 0 {
				t.Errorf("%s: %.2f SQL login-table rows per launch (want 0), Redis CPU %.3f ms (want measured)", name, c.Writes, c.RedisCPU)
			}
		case "own-process/postgres", "own-process-2/postgres":
			if c.Writes != 2 {
				t.Errorf("%s: %.2f rows per launch, want 2", name, c.Writes)
			}
		}
		if c.Target == "own-process-2" && (c.Nodes != 2 || len(c.NodeCPU) != 2 || strings.Count(c.Source, "/proc/") != 2) {
			t.Errorf("%s: nodes %d, node CPU %v, source %q: want two nodes measured", name, c.Nodes, c.NodeCPU, c.Source)
		}
	}
	for _, want := range []string{"own-process-2/postgres (two nodes", "Capacity: launches per CPU-second", "own-process: states in Redis = "} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
}
