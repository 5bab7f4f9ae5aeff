package main

import (
	"bytes"
	"context"
	"io"
	"math"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ltikit/ltikit/ltitest"
)

func TestParseStatCPU(t *testing.T) {
	// A comm with spaces and parentheses; utime 150, stime 50 ticks.
	line := "1234 (my (odd) proc) S 1 1234 1234 0 -1 4194560 100 0 0 0 150 50 0 0 20 0 4 0 100 1000 10 18446744073709551615\n"
	got, err := parseStatCPU(line)
	if err != nil {
		t.Fatal(err)
	}
	if want := 200 * clockTick; got != want {
		t.Errorf("parseStatCPU = %v, want %v", got, want)
	}
	if _, err := parseStatCPU("garbage"); err == nil {
		t.Error("parseStatCPU(garbage) succeeded")
	}
	// The reaped children's time (cutime 30, cstime 20) is read apart.
	st, err := parseStat("77 (postgres) S 1 77 77 0 -1 4194560 100 0 0 0 150 50 30 20 20 0 4 0 100 1000 10\n")
	if err != nil {
		t.Fatal(err)
	}
	if st.comm != "postgres" || st.ppid != 1 || st.own != 200*clockTick || st.reaped != 50*clockTick {
		t.Errorf("parseStat = %+v", st)
	}
}

// TestBackendsUsed checks the store CPU arithmetic: a backend that
// connected meanwhile counts whole, one that left is dropped, and a
// difference never goes below 0.
func TestBackendsUsed(t *testing.T) {
	before := map[int]time.Duration{1: 100, 2: 50, 3: 70}
	after := map[int]time.Duration{1: 130, 3: 60, 4: 25}
	if got, want := backendsUsed(before, after), time.Duration(30+0+25); got != want {
		t.Errorf("backendsUsed = %v, want %v", got, want)
	}
	w := &row{Store: "redis", DBCPUMsPerLaunch: 0.1, RedisCPUMsPerLaunch: 0.2}
	if got := storeCPU(w); math.Abs(got-0.3) > 1e-9 {
		t.Errorf("storeCPU(redis) = %v, want 0.3", got)
	}
	w.RedisCPUMsPerLaunch = -1
	if got := storeCPU(w); got != -1 {
		t.Errorf("storeCPU(redis, Redis not measured) = %v, want -1", got)
	}
	if got := storeCPU(&row{Store: "sqlite", DBCPUMsPerLaunch: -1}); got != 0 {
		t.Errorf("storeCPU(sqlite) = %v, want 0 (inside the tool)", got)
	}
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i))
	}
	for p, want := range map[float64]time.Duration{50: 50, 90: 90, 99: 99, 100: 100, 0.1: 1} {
		if got := percentile(d, p); got != want {
			t.Errorf("percentile(%v) = %v, want %v", p, got, want)
		}
	}
	if percentile(nil, 50) != 0 {
		t.Error("percentile of nothing")
	}
}

// TestCPUProfileLabels checks the profile reader on a real CPU profile:
// work done under role=server and role=client is told apart. Each role
// spins for 300 ms of wall time; on a loaded machine one of them may get
// too little CPU to be sampled, so the profile is taken again, up to five
// times, until both are in it.
func TestCPUProfileLabels(t *testing.T) {
	spin := func(ctx context.Context, d time.Duration) {
		end := time.Now().Add(d)
		x := 0
		for time.Now().Before(end) {
			x++
		}
		_ = x
	}
	var c cpuShares
	for attempt := 1; attempt <= 5; attempt++ {
		var buf bytes.Buffer
		if err := pprof.StartCPUProfile(&buf); err != nil {
			t.Skipf("CPU profiling unavailable: %v", err)
		}
		done := make(chan struct{})
		go pprof.Do(context.Background(), pprof.Labels("role", "server"), func(ctx context.Context) {
			spin(ctx, 300*time.Millisecond)
			close(done)
		})
		pprof.Do(context.Background(), pprof.Labels("role", "client"), func(ctx context.Context) { spin(ctx, 300*time.Millisecond) })
		<-done
		pprof.StopCPUProfile()
		var err error
		if c, err = readCPUShares(buf.Bytes()); err != nil {
			t.Fatal(err)
		}
		if c.server != 0 && c.client != 0 {
			break
		}
		t.Logf("attempt %d: shares %+v, one role not sampled", attempt, c)
	}
	if c.server == 0 || c.client == 0 {
		t.Errorf("shares %+v: want server and client samples", c)
	}
	if f := c.serverFraction(0.5); f <= 0 || f >= 1 {
		t.Errorf("server fraction %v", f)
	}
}

// TestReadAllocs checks that the allocs profile reader finds allocations.
func TestReadAllocs(t *testing.T) {
	a, err := readAllocs()
	if err != nil {
		t.Fatal(err)
	}
	if a.otherObjects+a.serverObjects == 0 {
		t.Errorf("no allocations in the allocs profile: %+v", a)
	}
}

func TestParseFlags(t *testing.T) {
	env := func(string) string { return "" }
	o, err := parseFlags([]string{"-targets", "in-process,demo-tool", "-stores", "sqlite", "-fill", "10,20"}, env, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(o.targets, ",") != "in-process,demo-tool" || o.fillRegs != 10 || o.fillStates != 20 || o.postgres != defaultPostgres {
		t.Errorf("options %+v", o)
	}
	if o, err := parseFlags([]string{"-pin", "-targets", "own-process,own-process-2"}, env, io.Discard); err != nil || !o.pin {
		t.Errorf("-pin with own-process targets: %v, %+v", err, o)
	}
	for _, bad := range [][]string{{"-targets", "nginx"}, {"-stores", "mongodb"}, {"-fill", "x"}, {"-clients", "0"}, {"extra"},
		{"-pin"}, {"-pin", "-targets", "own-process,in-process"}} {
		if _, err := parseFlags(bad, env, io.Discard); err == nil {
			t.Errorf("parseFlags(%q) succeeded", bad)
		}
	}
}

// TestDerivedVsPeer checks the derived ceiling against a figure worked by
// hand, that it is left out when a figure is missing, and that -strict
// never fails a run on it (it is not a target).
func TestDerivedVsPeer(t *testing.T) {
	peer := &row{Target: "ltijs", Store: "postgres", LaunchesPerS: 100, CPUMsPerLaunch: 8, DBCPUMsPerLaunch: 2, GenCPUMs: 2}
	tests := []struct {
		name        string
		w           row
		wantCeiling float64 // 0: not derived
	}{
		{"all measured", row{LaunchesPerS: 800, CPUMsPerLaunch: 0.5, DBCPUMsPerLaunch: 0.5, GenCPUMs: 1.5}, 2 * 1e3 / 2.0 / 100},
		{"no database CPU", row{LaunchesPerS: 800, CPUMsPerLaunch: 0.5, DBCPUMsPerLaunch: -1, GenCPUMs: 1.5}, 0},
		{"no server CPU", row{LaunchesPerS: 800, DBCPUMsPerLaunch: 0.5, GenCPUMs: 1.5}, 2 * 1e3 / 2.0 / 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := map[string]float64{}
			for _, c := range derivedVsPeer("own-process", &tt.w, peer, 2) {
				got[c.What] = c.Value
			}
			v, ok := got["own-process_ceiling_vs_ltijs"]
			switch {
			case tt.wantCeiling == 0 && ok:
				t.Errorf("ceiling = %v, want none", v)
			case tt.wantCeiling != 0 && (!ok || math.Abs(v-tt.wantCeiling) > 1e-9):
				t.Errorf("ceiling = %v (present %v), want %v", v, ok, tt.wantCeiling)
			}
		})
	}
	r := &results{Comparisons: derivedVsPeer("own-process", &row{LaunchesPerS: 1, CPUMsPerLaunch: 50, DBCPUMsPerLaunch: 50, GenCPUMs: 50}, peer, 2)}
	if len(r.Comparisons) != 1 {
		t.Fatalf("got %d comparisons, want 1", len(r.Comparisons))
	}
	if f := r.failures(true); len(f) != 0 {
		t.Errorf("strict failures on derived figures: %q", f)
	}
}

// TestCapacityTargets checks the capacity figures and targets against
// figures worked by hand: the headline ratio to ltijs, the demo tool's CPU
// next to own-process's, scale-out per node-CPU-second; that they are only
// checked with the lookup cache; that -strict fails on a miss; and that
// under -pin the launches/s ratio, the ceiling and the closed-loop p99
// are no targets.
func TestCapacityTargets(t *testing.T) {
	rows := func() []row {
		rs := []row{
			{Target: "ltijs", Store: "postgres", Launches: 10, LaunchesPerS: 50, CPUMsPerLaunch: 15, DBCPUMsPerLaunch: 5, RedisCPUMsPerLaunch: -1, WritesPerLaunch: -1, JWKSFetches: 10, GenCPUMs: 1, P99Ms: 200},
			// 1000 / (0.5 + 0.5) = 1000 per CPU-second = 20 × ltijs's 50.
			{Target: "own-process", Store: "postgres", Launches: 10, LaunchesPerS: 300, CPUMsPerLaunch: 0.5, DBCPUMsPerLaunch: 0.5, RedisCPUMsPerLaunch: -1, WritesPerLaunch: 2, GenCPUMs: 1, P99Ms: 50},
			// 1000 / (0.5 + 0.1 + 0.4) = 1000 = 20 × ltijs: misses ≥ 25.
			{Target: "own-process", Store: "redis", Launches: 10, LaunchesPerS: 300, CPUMsPerLaunch: 0.5, DBCPUMsPerLaunch: 0.1, RedisCPUMsPerLaunch: 0.4, WritesPerLaunch: 0, GenCPUMs: 1},
			// 0.7 / 0.5 = 1.4 × own-process's CPU: misses ≤ 1.3.
			{Target: "demo-tool", Store: "postgres", Launches: 10, LaunchesPerS: 250, CPUMsPerLaunch: 0.7, DBCPUMsPerLaunch: 0.6, RedisCPUMsPerLaunch: -1, WritesPerLaunch: 2, GenCPUMs: 1},
			// Two nodes: 1000 / (0.55 + 0.5) = 952 = 0.95 × one node's 1000.
			{Target: "own-process-2", Store: "postgres", Launches: 10, LaunchesPerS: 300, CPUMsPerLaunch: 0.55, NodeCPUMsPerLaunch: []float64{0.3, 0.25}, Nodes: 2, DBCPUMsPerLaunch: 0.5, RedisCPUMsPerLaunch: -1, WritesPerLaunch: 2, GenCPUMs: 1},
		}
		for i := range rs {
			rs[i].ReplayChecked, rs[i].ReplayRefused, rs[i].ReplayStatus = true, true, 401
		}
		return rs
	}
	r := &results{Rows: rows(), Config: configInfo{LookupCache: "30s"}, Machine: machineInfo{CPUs: 2}}
	r.finish()
	got := checkTargets(t, r, map[string]targetWant{
		"own-process_postgres_capacity_vs_ltijs": {20, true},
		"own-process_redis_capacity_vs_ltijs":    {20, false},
		"demo-tool_postgres_capacity_vs_ltijs":   {1000 / 1.3 / 50, true},
		"demo-tool_postgres_cpu_vs_own-process":  {1.4, false},
		"own-process-2_capacity_vs_own-process":  {1000 / 1.05 / 1000, true},
		"own-process-2_db_writes_vs_own-process": {2, true},
		"own-process/postgres_db_writes":         {2, true},
		"own-process/postgres_jwks_fetches":      {0, true},
		"own-process-2/postgres_jwks_fetches":    {0, true},
		"own-process/redis_db_writes":            {0, true},
		"demo-tool/postgres_db_writes":           {2, true},
		"demo-tool/postgres_jwks_fetches":        {0, true},
		"own-process/redis_jwks_fetches":         {0, true},
		"own-process-2/postgres_db_writes":       {2, true},
	})
	if _, ok := got["ltijs/postgres_jwks_fetches"]; ok {
		t.Error("the peer's key set fetches are checked against ltikit's target")
	}
	strict := strings.Join(r.failures(true), "\n")
	for _, miss := range []string{"own-process/redis capacity", "demo-tool/postgres server CPU", "p99 50.0 ms"} {
		if !strings.Contains(strict, miss) {
			t.Errorf("-strict failures lack %q:\n%s", miss, strict)
		}
	}
	if f := r.failures(false); len(f) != 0 {
		t.Errorf("failures without -strict: %q", f)
	}

	// Without the lookup cache the capacity targets are not checked.
	r = &results{Rows: rows(), Machine: machineInfo{CPUs: 2}}
	r.finish()
	for _, c := range r.Targets {
		if strings.HasSuffix(c.What, "_capacity_vs_ltijs") {
			t.Errorf("capacity target checked without -lookup-cache: %s", c.Text)
		}
	}

	// Under -pin: no ceiling; the launches/s ratio and the closed-loop
	// p99 are printed but not targets.
	r = &results{Rows: rows(), Config: configInfo{LookupCache: "30s"}, Machine: machineInfo{CPUs: 2}, Topology: &topology{GeneratorCPU: 0, ToolCPU: 1}}
	r.finish()
	for _, c := range r.Comparisons {
		if strings.HasSuffix(c.What, "_ceiling_vs_ltijs") {
			t.Errorf("ceiling under -pin: %s", c.Text)
		}
	}
	strict = strings.Join(r.failures(true), "\n")
	if strings.Contains(strict, "launches/s of ltijs") || strings.Contains(strict, "p99") {
		t.Errorf("-strict under -pin fails on the launches/s ratio or the closed-loop p99:\n%s", strict)
	}
	var table strings.Builder
	writeTable(&table, r)
	for _, want := range []string{"Capacity: launches per CPU-second", "Targets (-strict fails on a miss)", "MISSED", "20.0"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q", want)
		}
	}
}

// TestScaleOutRouting drives launches against two in-process nodes that
// share one store and one base URL: every login goes to one node and its
// launch post to the other, the state cookie set by the first is sent to
// the second (the launch succeeds only then), and the replay goes to the
// node that did not take the launch post and is refused.
func TestScaleOutRouting(t *testing.T) {
	p, err := ltitest.NewPlatform(ltitest.Config{ToolLoginURL: "http://127.0.0.1/lti/login", ToolRedirectURIs: []string{"http://127.0.0.1/lti/launch"}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	store, stopSweep, err := memoryStore(p.Registration(), p.Deployment())
	if err != nil {
		t.Fatal(err)
	}
	defer stopSweep()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	front := "http://127.0.0.1:" + strconv.Itoa(port)
	s := &site{target: "own-process-2", store: "memory", front: front, loginURL: front + "/lti/login", targetLink: front + "/lti/launch"}
	for range 2 {
		base, stop, err := serveHandlers(store, "server", front)
		if err != nil {
			t.Fatal(err)
		}
		defer stop()
		s.nodes = append(s.nodes, base)
	}
	g := newGenerator(p, 1)
	defer g.transport.CloseIdleConnections()
	ctx := context.Background()
	logins := map[int]int{}
	for i := range 20 {
		_, rp, err := g.launch(ctx, s, i)
		if err != nil {
			t.Fatalf("launch %d: %v", i, err)
		}
		if rp.loginNode == rp.postNode {
			t.Fatalf("launch %d: login and launch post both on node %d", i, rp.loginNode)
		}
		if !strings.HasPrefix(rp.action, s.nodes[rp.loginNode]+"/") {
			t.Fatalf("launch %d: replay to %s, want the login's node %s", i, rp.action, s.nodes[rp.loginNode])
		}
		logins[rp.loginNode]++
		if i == 19 {
			refused, status, err := g.replay(ctx, rp)
			if err != nil || !refused {
				t.Errorf("replay on the other node: refused %v, status %d, %v", refused, status, err)
			}
		}
	}
	if len(logins) != 2 {
		t.Errorf("logins per node %v: want both nodes used", logins)
	}
	if _, err := s.onNode("http://elsewhere.example/lti/launch", 0); err == nil {
		t.Error("onNode accepted a URL outside the nodes' base URL")
	}
}
