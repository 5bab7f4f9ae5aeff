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

	"github.com/ltikit/ltikit/internal/pgtest"
	"github.com/ltikit/ltikit/internal/redistest"
)

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
	dsn := pgtest.Schema(t, "ltibench_redis_test_")
	dir := t.TempDir()
	jsonPath := filepath.Join(dir, "out.json")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"-targets", "in-process", "-stores", "postgres,redis", "-clients", "2", "-launches", "60",
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
		if c.Errors != 0 || c.Launches != 60 || !c.Refused || c.DBCPU == -1 {
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
