package main

import (
	"encoding/json"
	"fmt"
	"html"
	"io"
	"os"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"
)

// results is everything one run measured; it is also the JSON document.
type results struct {
	Machine     machineInfo   `json:"machine"`
	Config      configInfo    `json:"config"`
	Micro       *microResult  `json:"validation,omitempty"`
	Floors      []floorResult `json:"floors,omitempty"`
	Rows        []row         `json:"configurations"`
	Comparisons []comparison  `json:"comparisons,omitempty"`
	Failed      []string      `json:"failed,omitempty"`
	// Topology is -pin's placement of the processes on the CPUs; nil
	// when the processes shared the CPUs.
	Topology *topology `json:"topology,omitempty"`
	// Floor is what the floor distances divide by (see floorUs).
	Floor *launchFloor `json:"launch_floor,omitempty"`
	// Targets are the targets, each met or missed (-strict fails
	// on a miss).
	Targets []targetCheck `json:"targets,omitempty"`
	// OpenLoop is the open-loop latency at fixed arrival rates (-rates).
	OpenLoop *openLoopResult `json:"open_loop,omitempty"`
}

// topology is -pin's placement as the results report it.
type topology struct {
	GeneratorCPU int      `json:"generator_cpu"`
	ToolCPU      int      `json:"tool_cpu"`
	Placed       []string `json:"placed"` // what runs where, one line each
}

// launchFloor is the floor of a launch's own work a tool's CPU per launch
// is compared with: the in-process validation (ValidateLaunch, its RSA
// verify included) plus the login initiation, measured in this run (-micro)
// with no HTTP connection and no store.
type launchFloor struct {
	Micros float64 `json:"us"`
	What   string  `json:"what"`
}

// targetCheck is one target with its verdict.
type targetCheck struct {
	What  string  `json:"what"`
	Value float64 `json:"value"`
	Limit float64 `json:"limit"`
	// AtMost: the value must not exceed the limit; else it must reach it.
	AtMost bool   `json:"at_most"`
	Met    bool   `json:"met"`
	Text   string `json:"text"`
}

type machineInfo struct {
	CPUs        int    `json:"cpus"`
	GOMAXPROCS  int    `json:"gomaxprocs"`
	CPUModel    string `json:"cpu_model,omitempty"`
	GoVersion   string `json:"go_version"`
	OS          string `json:"os"`
	Arch        string `json:"arch"`
	Started     string `json:"started"`
	Finished    string `json:"finished,omitempty"`
	LoadStart   string `json:"loadavg_start,omitempty"` // /proc/loadavg: the machine's other work
	LoadFinish  string `json:"loadavg_finish,omitempty"`
	SharedNote  string `json:"note,omitempty"`
	ProfileRate int    `json:"mem_profile_rate"`
}

type configInfo struct {
	Targets   []string `json:"targets"`
	Stores    []string `json:"stores"`
	Clients   int      `json:"clients"`
	Launches  int      `json:"launches"`
	Duration  string   `json:"duration,omitempty"`
	Warmup    int      `json:"warmup"`
	Postgres  string   `json:"postgres,omitempty"`
	FillRegs  int      `json:"fill_registrations,omitempty"`
	FillState int      `json:"fill_states,omitempty"`
	// LookupCache is -lookup-cache: the TTL of storage.CacheLookups around
	// the SQL stores, empty when registrations and deployments are read
	// from the database on every launch.
	LookupCache string `json:"lookup_cache,omitempty"`
	Latency     string `json:"latency"`
}

// row is one measured configuration.
type row struct {
	Target       string    `json:"target"`
	Store        string    `json:"store"`
	Filled       string    `json:"filled,omitempty"`
	Clients      int       `json:"clients"`
	Launches     int       `json:"launches"`
	Errors       int       `json:"errors"`
	ErrorSamples []string  `json:"error_samples,omitempty"`
	WallSeconds  float64   `json:"wall_s"`
	LaunchesPerS float64   `json:"launches_per_s"`
	RunsPerS     []float64 `json:"runs_launches_per_s,omitempty"` // with -repeat: every run's; this row is the median one
	P50Ms        float64   `json:"p50_ms"`
	P90Ms        float64   `json:"p90_ms"`
	P99Ms        float64   `json:"p99_ms"`
	MaxMs        float64   `json:"max_ms"`

	CPUMsPerLaunch float64 `json:"server_cpu_ms_per_launch"`
	CPUSource      string  `json:"server_cpu_source"`
	CPUSamples     int64   `json:"cpu_profiled_ns,omitempty"`
	CPUShares      string  `json:"cpu_profile_shares,omitempty"` // server / client / unlabeled samples; GC share
	ProcessCPUMs   float64 `json:"process_cpu_ms,omitempty"`     // in-process: the whole process, generator included
	GenCPUMs       float64 `json:"generator_cpu_ms_per_launch"`  // the load generator and the platform's signing

	AllocsPerLaunch float64 `json:"allocs_per_launch"` // -1: not measured (another process)
	BytesPerLaunch  float64 `json:"bytes_per_launch"`
	// DBCPUMsPerLaunch is the CPU per launch of the PostgreSQL backends
	// serving the tool (pgBackends); -1: not measured.
	DBCPUMsPerLaunch float64 `json:"db_cpu_ms_per_launch"`
	// DBServerCPUMsPerLaunch is the whole PostgreSQL server's (serverCPU):
	// its background processes and every other session's work included.
	DBServerCPUMsPerLaunch float64 `json:"db_server_cpu_ms_per_launch"`
	// RedisCPUMsPerLaunch is the CPU of every redis-server process per
	// launch (the redis store); -1: not measured.
	RedisCPUMsPerLaunch float64 `json:"redis_cpu_ms_per_launch"`
	WritesPerLaunch     float64 `json:"db_writes_per_launch"` // rows written to the login tables; -1: unknown
	JWKSFetches         int64   `json:"jwks_fetches"`         // key set requests during the measured launches

	ReplayChecked bool   `json:"replay_checked"`
	ReplayRefused bool   `json:"replay_refused"`
	ReplayStatus  int    `json:"replay_status,omitempty"`
	ReplayError   string `json:"replay_error,omitempty"`

	CPUVsRSA        float64 `json:"server_cpu_vs_rsa_verify,omitempty"` // server CPU per launch ÷ RSA verify
	P50VsFloor      float64 `json:"p50_vs_db_floor,omitempty"`          // p50 ÷ the store's raw round-trip floor
	LaunchesVsFloor float64 `json:"launches_vs_db_floor,omitempty"`     // launches/s ÷ the floor's pairs/s

	// Nodes is how many server processes served the configuration when
	// more than one (own-process-2), with each one's CPU per launch (of
	// all the launches).
	Nodes              int       `json:"nodes,omitempty"`
	NodeCPUMsPerLaunch []float64 `json:"node_cpu_ms_per_launch,omitempty"`

	// StoreCPUMsPerLaunch is the store servers' CPU per launch: PostgreSQL
	// and Redis, whichever were measured; 0 when the store runs inside the
	// tool (memory, SQLite); -1 when it could not be measured.
	StoreCPUMsPerLaunch float64 `json:"store_cpu_ms_per_launch"`
	// Capacity is launches per CPU-second of the tool (all its nodes) and
	// its store together: 1000 ÷ (server + store CPU-ms per launch).
	Capacity float64 `json:"capacity_launches_per_cpu_s,omitempty"`
	// CapacityVsPeer is Capacity ÷ ltijs/postgres's in the same run.
	CapacityVsPeer float64 `json:"capacity_vs_ltijs,omitempty"`
	// VsFloor is the server's CPU per launch ÷ the launch floor.
	VsFloor float64 `json:"server_cpu_vs_launch_floor,omitempty"`

	serverCPU, genCPU time.Duration
}

// comparison is a ratio the issue asks for, computed within the run.
type comparison struct {
	What  string  `json:"what"`
	Value float64 `json:"value"`
	Text  string  `json:"text"`
}

func newResults(o options) *results {
	r := &results{
		Machine: machineInfo{
			CPUs: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), CPUModel: cpuModel(),
			GoVersion: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH,
			Started: time.Now().UTC().Format(time.RFC3339), LoadStart: loadAvg(),
			ProfileRate: o.memProfileRate,
			SharedNote:  "the load generator, the platform's signing, the tool and the database share these CPUs",
		},
		Config: configInfo{
			Targets: o.targets, Stores: o.stores, Clients: o.clients, Launches: o.launches, Warmup: o.warmup,
			Postgres: redact(o.postgres), FillRegs: o.fillRegs, FillState: o.fillStates,
			Latency: "per launch: the login initiation round trip plus the launch post round trip (plus the redirect it answers, for ltijs); the platform's signing in between is not counted",
		},
	}
	if o.launches == 0 {
		r.Config.Duration = o.duration.String()
	}
	if o.lookupCache > 0 {
		r.Config.LookupCache = o.lookupCache.String()
	}
	return r
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// floorFor returns the raw floor of a store, if measured.
func (r *results) floorFor(store string) *floorResult {
	for i := range r.Floors {
		f := &r.Floors[i]
		if f.Error != "" {
			continue
		}
		if store == "postgres" && strings.HasPrefix(f.Name, "PostgreSQL") || store == "sqlite" && strings.HasPrefix(f.Name, "SQLite") {
			return f
		}
	}
	return nil
}

// finish computes the ratios.
func (r *results) finish() {
	r.Machine.Finished = time.Now().UTC().Format(time.RFC3339)
	r.Machine.LoadFinish = loadAvg()
	rsa := 0.0
	if r.Micro != nil && r.Micro.Err == "" {
		rsa = r.Micro.RSAMicros / 1e3 // ms
		r.Floor = &launchFloor{Micros: r.Micro.ValidateCPUMicros + r.Micro.LoginCPUMicros,
			What: "the process CPU of an in-process validation (ValidateLaunch: its RSA-2048 verify, the claims) + a login initiation (LoginHandler), measured in this run (-micro) with no HTTP connection and no store"}
		if r.Floor.Micros <= 0 {
			r.Floor = nil
		}
	}
	for i := range r.Rows {
		w := &r.Rows[i]
		if rsa > 0 && w.CPUMsPerLaunch > 0 {
			w.CPUVsRSA = w.CPUMsPerLaunch / rsa
		}
		w.StoreCPUMsPerLaunch = storeCPU(w)
		if w.CPUMsPerLaunch > 0 && w.StoreCPUMsPerLaunch >= 0 {
			w.Capacity = 1e3 / (w.CPUMsPerLaunch + w.StoreCPUMsPerLaunch)
		}
		if r.Floor != nil && w.Target != "ltijs" && w.CPUMsPerLaunch > 0 {
			w.VsFloor = w.CPUMsPerLaunch * 1e3 / r.Floor.Micros
		}
		if f := r.floorFor(w.Store); f != nil && w.P50Ms > 0 {
			w.P50VsFloor = w.P50Ms / (f.P50Micros / 1e3)
			if f.PairsPerS > 0 {
				w.LaunchesVsFloor = w.LaunchesPerS / f.PairsPerS
			}
		}
	}
	find := func(target, store, filled string) *row {
		for i := range r.Rows {
			w := &r.Rows[i]
			if w.Target == target && w.Store == store && w.Filled == filled && w.LaunchesPerS > 0 {
				return w
			}
		}
		return nil
	}
	if m := r.Micro; m != nil && m.Err == "" {
		r.Comparisons = append(r.Comparisons, comparison{
			What: "validation_vs_rsa", Value: m.Ratio,
			Text: fmt.Sprintf("in-process launch validation = %.2f × the RSA-2048 verify of the same token (target ≤ %.1f), %.0f allocs (≤ %d), %.1f KiB (≤ %d KiB) per launch",
				m.Ratio, targetRatio, m.Allocs, targetAllocs, m.Bytes/1024, targetBytes>>10)})
	}
	pinned := r.Topology != nil
	if peer := find("ltijs", "postgres", ""); peer != nil {
		for i := range r.Rows {
			if w := &r.Rows[i]; w.Target != "ltijs" && w.Capacity > 0 && peer.Capacity > 0 {
				w.CapacityVsPeer = w.Capacity / peer.Capacity
			}
		}
		for _, t := range []string{"in-process", "own-process", "demo-tool"} {
			w := find(t, "postgres", "")
			if w == nil {
				continue
			}
			launchesText := fmt.Sprintf("%s/postgres: %.1f × the launches/s of ltijs/postgres (%.0f vs %.0f; target ≥ 10)", t, w.LaunchesPerS/peer.LaunchesPerS, w.LaunchesPerS, peer.LaunchesPerS)
			if pinned {
				launchesText = fmt.Sprintf("%s/postgres: %.1f × the launches/s of ltijs/postgres (%.0f vs %.0f; not a target under -pin: ltikit's rate is bounded by the generator's one CPU, see capacity)", t, w.LaunchesPerS/peer.LaunchesPerS, w.LaunchesPerS, peer.LaunchesPerS)
			}
			r.Comparisons = append(r.Comparisons, comparison{
				What: t + "_vs_ltijs_launches", Value: w.LaunchesPerS / peer.LaunchesPerS, Text: launchesText})
			if w.CPUMsPerLaunch > 0 {
				r.Comparisons = append(r.Comparisons, comparison{
					What: t + "_vs_ltijs_cpu", Value: peer.CPUMsPerLaunch / w.CPUMsPerLaunch,
					Text: fmt.Sprintf("%s/postgres: 1/%.1f of ltijs's server CPU per launch (%.2f vs %.2f ms; target ≤ 1/10)", t, peer.CPUMsPerLaunch/w.CPUMsPerLaunch, w.CPUMsPerLaunch, peer.CPUMsPerLaunch)})
			}
			if !pinned {
				r.Comparisons = append(r.Comparisons, derivedVsPeer(t, w, peer, r.Machine.CPUs)...)
			}
		}
	}
	for i := range r.Rows {
		w := &r.Rows[i]
		if w.Filled == "" {
			continue
		}
		if empty := find(w.Target, w.Store, ""); empty != nil && w.LaunchesPerS > 0 {
			// Pinned, launches/s is the generator's CPU: the flat-cost
			// target is the capacity one (targets).
			target := "target ≥ 0.90"
			if pinned {
				target = "pinned: the generator's rate, not a target"
			}
			r.Comparisons = append(r.Comparisons, comparison{
				What: w.Target + "_" + w.Store + "_filled_vs_empty", Value: w.LaunchesPerS / empty.LaunchesPerS,
				Text: fmt.Sprintf("%s/%s with %s: %.2f × the launches/s of the empty database (%.0f vs %.0f; %s); server CPU %.3f vs %.3f ms, database CPU %s vs %s ms per launch; p99 %.1f vs %.1f ms",
					w.Target, w.Store, w.Filled, w.LaunchesPerS/empty.LaunchesPerS, w.LaunchesPerS, empty.LaunchesPerS, target,
					w.CPUMsPerLaunch, empty.CPUMsPerLaunch, num(w.DBCPUMsPerLaunch, "%.3f"), num(empty.DBCPUMsPerLaunch, "%.3f"), w.P99Ms, empty.P99Ms)})
		}
	}
	for _, t := range []string{"in-process", "own-process", "demo-tool"} {
		pg, rd := find(t, "postgres", ""), find(t, "redis", "")
		if pg == nil || rd == nil {
			continue
		}
		r.Comparisons = append(r.Comparisons, comparison{
			What: t + "_redis_vs_postgres_launches", Value: rd.LaunchesPerS / pg.LaunchesPerS,
			Text: fmt.Sprintf("%s: states in Redis = %.2f × the launches/s of states in PostgreSQL (%.0f vs %.0f); per launch: server CPU %.3f vs %.3f ms, PostgreSQL CPU %s vs %s ms, Redis CPU %s ms, SQL login-table rows %s vs %s",
				t, rd.LaunchesPerS/pg.LaunchesPerS, rd.LaunchesPerS, pg.LaunchesPerS, rd.CPUMsPerLaunch, pg.CPUMsPerLaunch,
				measured(rd.DBCPUMsPerLaunch, "%.3f"), measured(pg.DBCPUMsPerLaunch, "%.3f"), measured(rd.RedisCPUMsPerLaunch, "%.3f"),
				measured(rd.WritesPerLaunch, "%.2f"), measured(pg.WritesPerLaunch, "%.2f"))})
	}
	for i := range r.Rows {
		w := &r.Rows[i]
		if w.Store == "postgres" && w.Target != "ltijs" && w.Filled == "" && w.LaunchesPerS > 0 {
			text := fmt.Sprintf("%s/postgres at %d clients: p99 %.1f ms (target ≤ 10 ms)", w.Target, w.Clients, w.P99Ms)
			if pinned {
				text = fmt.Sprintf("%s/postgres at %d clients: p99 %.1f ms (closed loop: queueing on the tool's one CPU; not a target under -pin)", w.Target, w.Clients, w.P99Ms)
			}
			r.Comparisons = append(r.Comparisons, comparison{What: w.Target + "_postgres_p99", Value: w.P99Ms, Text: text})
		}
	}
	r.Targets = r.targets(find)
	if r.OpenLoop != nil {
		// The open loop's one target: ltikit's p99 at half its own
		// saturation rate.
		for _, ser := range r.OpenLoop.Series {
			if h := ser.HalfSaturation; h != nil && ser.Error == "" {
				r.Targets = append(r.Targets, targetCheck{What: ser.Target + "_" + ser.Store + "_open_loop_half_saturation_p99_ms",
					Value: h.P99Ms, Limit: h.LimitMs, AtMost: true, Met: h.Met, Text: h.Text})
			}
		}
	}
}

// storeCPU is a row's store CPU per launch: PostgreSQL's and Redis's as
// measured, 0 for a store inside the tool's process, -1 when a store
// server's CPU could not be read.
func storeCPU(w *row) float64 {
	switch w.Store {
	case "memory", "sqlite":
		return 0
	case "redis":
		if w.DBCPUMsPerLaunch < 0 || w.RedisCPUMsPerLaunch < 0 {
			return -1
		}
		return w.DBCPUMsPerLaunch + w.RedisCPUMsPerLaunch
	}
	if w.DBCPUMsPerLaunch < 0 {
		return -1
	}
	return w.DBCPUMsPerLaunch
}

// capacityTargets are the targets for the capacity against ltijs, the demo
// tool's overhead and scale-out.
var capacityTargets = []struct {
	target, store string
	min           float64
}{
	{"own-process", "postgres", 15},
	{"demo-tool", "postgres", 12},
	{"own-process", "redis", 25},
}

const (
	targetDemoVsOwn = 1.3  // demo-tool server CPU per launch ≤ 1.3 × own-process's, same store
	targetScaleOut  = 0.90 // own-process-2 capacity ≥ 0.90 × own-process/postgres's
	targetWrites    = 2    // SQL login-table rows per launch
	targetFilled    = 0.90 // capacity with -fill's rows stored ≥ 0.90 × the empty database's
)

// targets checks the targets the run has the figures for.
func (r *results) targets(find func(target, store, filled string) *row) []targetCheck {
	var out []targetCheck
	add := func(what string, value, limit float64, atMost bool, text string) {
		met := value >= limit
		if atMost {
			met = value <= limit
		}
		verdict := "met"
		if !met {
			verdict = "MISSED"
		}
		out = append(out, targetCheck{What: what, Value: value, Limit: limit, AtMost: atMost, Met: met, Text: text + ": " + verdict})
	}
	if peer := find("ltijs", "postgres", ""); peer != nil && peer.Capacity > 0 && r.Config.LookupCache != "" {
		for _, c := range capacityTargets {
			w := find(c.target, c.store, "")
			if w == nil || w.Capacity <= 0 {
				continue
			}
			add(c.target+"_"+c.store+"_capacity_vs_ltijs", w.CapacityVsPeer, c.min, false,
				fmt.Sprintf("%s/%s capacity %.0f launches per CPU-second of tool + store = %.1f × ltijs/postgres's %.0f (target ≥ %.0f ×)",
					c.target, c.store, w.Capacity, w.CapacityVsPeer, peer.Capacity, c.min))
		}
	}
	for _, st := range []string{"sqlite", "postgres", "redis"} {
		demo, own := find("demo-tool", st, ""), find("own-process", st, "")
		if demo == nil || own == nil || demo.CPUMsPerLaunch <= 0 || own.CPUMsPerLaunch <= 0 {
			continue
		}
		v := demo.CPUMsPerLaunch / own.CPUMsPerLaunch
		add("demo-tool_"+st+"_cpu_vs_own-process", v, targetDemoVsOwn, true,
			fmt.Sprintf("demo-tool/%s server CPU per launch %.3f ms = %.2f × own-process/%s's %.3f ms (target ≤ %.1f ×)",
				st, demo.CPUMsPerLaunch, v, st, own.CPUMsPerLaunch, targetDemoVsOwn))
	}
	if two, one := find("own-process-2", "postgres", ""), find("own-process", "postgres", ""); two != nil && one != nil && two.Capacity > 0 && one.Capacity > 0 {
		v := two.Capacity / one.Capacity
		nodes := make([]string, len(two.NodeCPUMsPerLaunch))
		for i, c := range two.NodeCPUMsPerLaunch {
			nodes[i] = fmt.Sprintf("%.3f", c)
		}
		if two.WritesPerLaunch >= 0 && one.WritesPerLaunch >= 0 {
			add("own-process-2_db_writes_vs_own-process", two.WritesPerLaunch, one.WritesPerLaunch, true,
				fmt.Sprintf("own-process-2/postgres: %.2f SQL login-table rows per launch, own-process/postgres %.2f (target: unchanged)", two.WritesPerLaunch, one.WritesPerLaunch))
		}
		add("own-process-2_capacity_vs_own-process", v, targetScaleOut, false,
			fmt.Sprintf("own-process-2/postgres (two nodes, each login on one, its launch post on the other) capacity per node-CPU-second %.0f = %.2f × own-process/postgres's %.0f (target: within 10 %%, ≥ %.2f ×); node CPU per launch %s ms, store %.3f ms; db writes per launch %s vs %s",
				two.Capacity, v, one.Capacity, targetScaleOut, strings.Join(nodes, " + "), two.StoreCPUMsPerLaunch,
				measured(two.WritesPerLaunch, "%.2f"), measured(one.WritesPerLaunch, "%.2f")))
	}
	// Flat cost: per-launch work must not grow with the rows stored. The
	// measure is capacity (CPU per launch of tool and store), which the
	// generator's share of the CPUs does not move; launches/s is shown.
	for _, w := range r.Rows {
		if w.Filled == "" || w.Capacity <= 0 {
			continue
		}
		if empty := find(w.Target, w.Store, ""); empty != nil && empty.Capacity > 0 {
			v := w.Capacity / empty.Capacity
			add(w.Target+"_"+w.Store+"_filled_capacity_vs_empty", v, targetFilled, false,
				fmt.Sprintf("%s/%s with %s: capacity %.0f = %.2f × the empty database's %.0f launches per CPU-second (target ≥ %.2f ×); tool + store CPU %.3f + %.3f vs %.3f + %.3f ms per launch, launches/s %.0f vs %.0f",
					w.Target, w.Store, w.Filled, w.Capacity, v, empty.Capacity, targetFilled, w.CPUMsPerLaunch, w.StoreCPUMsPerLaunch,
					empty.CPUMsPerLaunch, empty.StoreCPUMsPerLaunch, w.LaunchesPerS, empty.LaunchesPerS))
		}
	}
	for _, w := range r.Rows {
		if w.Target == "ltijs" || w.Launches == 0 {
			continue
		}
		name := w.Target + "/" + w.Store
		if w.Filled != "" {
			name += " (filled)"
		}
		if w.WritesPerLaunch >= 0 {
			add(name+"_db_writes", w.WritesPerLaunch, targetWrites, true,
				fmt.Sprintf("%s: %.2f SQL login-table rows written per launch (target ≤ %d)", name, w.WritesPerLaunch, targetWrites))
		}
		add(name+"_jwks_fetches", float64(w.JWKSFetches), 0, true,
			fmt.Sprintf("%s: %d key set fetches during the measured launches (target 0: cached)", name, w.JWKSFetches))
	}
	return out
}

// derivedVsPeer is a figure derived from w's measured CPU, not a target,
// for processes that share the CPUs (without -pin): the ceiling. Were w's
// server process free, the launches/s the CPUs could give when every
// launch still costs the generator (the platform's RSA signing) and the
// database (w's own statements) what they cost in w's run: CPUs ÷
// (generator + database CPU per launch), an upper bound, and that bound as
// a ratio to the peer's measured launches/s. (Capacity, launches per
// CPU-second of tool and store, is a figure of every row; see finish.)
func derivedVsPeer(target string, w, peer *row, cpus int) []comparison {
	var out []comparison
	if cost := w.GenCPUMs + w.DBCPUMsPerLaunch; w.GenCPUMs > 0 && w.DBCPUMsPerLaunch > 0 && cpus > 0 {
		ceiling := float64(cpus) * 1e3 / cost
		out = append(out, comparison{
			What: target + "_ceiling_vs_ltijs", Value: ceiling / peer.LaunchesPerS,
			Text: fmt.Sprintf("%s/postgres: even if its server process cost no CPU, the generator (%.2f ms) and the database (%.2f ms) per launch would cap %d CPUs at %.0f launches/s = %.1f × ltijs (derived)",
				target, w.GenCPUMs, w.DBCPUMsPerLaunch, cpus, ceiling, ceiling/peer.LaunchesPerS)})
	}
	return out
}

// failures lists what makes the run fail: errors, a replay that was not
// refused, a configuration that did not run; with strict, missed targets.
func (r *results) failures(strict bool) []string {
	var f []string
	f = append(f, r.Failed...)
	for _, w := range r.Rows {
		name := w.Target + "/" + w.Store
		if w.Filled != "" {
			name += " (" + w.Filled + ")"
		}
		if w.Errors > 0 {
			f = append(f, fmt.Sprintf("%s: %d errors", name, w.Errors))
		}
		if w.ReplayChecked && !w.ReplayRefused {
			f = append(f, fmt.Sprintf("%s: a replayed launch was not refused (status %d %s)", name, w.ReplayStatus, w.ReplayError))
		}
		if !w.ReplayChecked && w.Launches > 0 {
			f = append(f, name+": no launch to replay")
		}
	}
	if r.Micro != nil && r.Micro.Err != "" {
		f = append(f, "validation measurement: "+r.Micro.Err)
	}
	if strict {
		if r.Micro != nil && r.Micro.Err == "" && !r.Micro.TargetsMet {
			f = append(f, "validation targets missed: "+r.Micro.TargetNotes)
		}
		// Under -pin the launches/s ratio and the closed-loop p99 measure
		// the generator's CPU and the queue on the tool's, not the tool.
		pinned := r.Topology != nil
		for _, c := range r.Comparisons {
			switch {
			case strings.HasSuffix(c.What, "_vs_ltijs_launches") && c.Value < 10 && !pinned,
				strings.HasSuffix(c.What, "_vs_ltijs_cpu") && c.Value < 10,
				strings.HasSuffix(c.What, "_filled_vs_empty") && c.Value < 0.9 && !pinned,
				strings.HasSuffix(c.What, "_postgres_p99") && c.Value > 10 && !pinned:
				f = append(f, "target missed: "+c.Text)
			}
		}
		for _, t := range r.Targets {
			if !t.Met {
				f = append(f, "target missed: "+t.Text)
			}
		}
	}
	return f
}

func replayWord(w row) string {
	switch {
	case !w.ReplayChecked:
		return "-"
	case w.ReplayRefused:
		return fmt.Sprintf("refused (%d)", w.ReplayStatus)
	case w.ReplayError != "":
		return "error: " + w.ReplayError
	}
	return fmt.Sprintf("ACCEPTED (%d)", w.ReplayStatus)
}

// measured formats a figure that is -1 when it was not measured (0 is a
// figure).
func measured(v float64, format string) string {
	if v < 0 {
		return "-"
	}
	return fmt.Sprintf(format, v)
}

func num(v float64, format string) string {
	if v <= 0 {
		return "-"
	}
	return fmt.Sprintf(format, v)
}

// writeTable prints the results as text tables.
func writeTable(w io.Writer, r *results) {
	m := r.Machine
	fmt.Fprintf(w, "ltibench: %d CPUs (%s), %s %s/%s, GOMAXPROCS %d; load average %s at the start, %s at the end\n",
		m.CPUs, m.CPUModel, m.GoVersion, m.OS, m.Arch, m.GOMAXPROCS, m.LoadStart, m.LoadFinish)
	fmt.Fprintf(w, "  %s\n", m.SharedNote)
	if t := r.Topology; t != nil {
		for _, line := range t.Placed {
			fmt.Fprintf(w, "    %s\n", line)
		}
		fmt.Fprintf(w, "    every CPU affinity changed is restored at the end (also on an error or SIGINT/SIGTERM)\n")
	}
	fmt.Fprintln(w)

	if mi := r.Micro; mi != nil {
		fmt.Fprintf(w, "In-process launch validation (launch.Tool.ValidateLaunch, memory store, key set cached), %d rounds of %d:\n", mi.Rounds, mi.PerRound)
		if mi.Err != "" {
			fmt.Fprintf(w, "  failed: %s\n\n", mi.Err)
		} else {
			verdict := "all met"
			if !mi.TargetsMet {
				verdict = "MISSED: " + mi.TargetNotes
			}
			fmt.Fprintf(w, "  ValidateLaunch            %7.1f µs   %5.0f allocs  %6.1f KiB per launch\n", mi.ValidateMicros, mi.Allocs, mi.Bytes/1024)
			fmt.Fprintf(w, "  RSA-2048 verify (floor)   %7.1f µs   %5.0f allocs  %6.1f KiB   crypto/rsa.VerifyPKCS1v15 of the same %d-byte id_token\n", mi.RSAMicros, mi.RSAAllocs, mi.RSABytes/1024, mi.TokenBytes)
			fmt.Fprintf(w, "  ratio                     %7.2f ×     (targets: ≤ %.1f ×, ≤ %d allocs, ≤ %d KiB: %s)\n", mi.Ratio, targetRatio, targetAllocs, targetBytes>>10, verdict)
			fmt.Fprintf(w, "  login initiation          %7.1f µs   %5.0f allocs  %6.1f KiB (LoginHandler with httptest, request building included)\n", mi.LoginMicros, mi.LoginAllocs, mi.LoginBytes/1024)
			fmt.Fprintf(w, "  process CPU per operation: ValidateLaunch %.1f µs, login initiation %.1f µs (getrusage, totals over the rounds; the launch floor)\n\n", mi.ValidateCPUMicros, mi.LoginCPUMicros)
		}
	}
	if len(r.Floors) > 0 {
		fmt.Fprintf(w, "Database floors (same run, same databases):\n")
		for _, f := range r.Floors {
			if f.Error != "" {
				fmt.Fprintf(w, "  %-52s failed: %s\n", f.Name, f.Error)
				continue
			}
			fmt.Fprintf(w, "  %-52s p50 %.3f ms one at a time; %.0f pairs/s at %d clients\n", f.Name, f.P50Micros/1e3, f.PairsPerS, f.Clients)
		}
		fmt.Fprintln(w)
	}
	if len(r.Rows) > 0 {
		lookups := "registrations and deployments read from the store on every launch"
		if r.Config.LookupCache != "" {
			lookups = "registrations and deployments cached for " + r.Config.LookupCache + " (storage.CacheLookups)"
		}
		fmt.Fprintf(w, "Complete launches over HTTP (login initiation + launch post; latency excludes the platform's signing), %d clients, %s:\n", r.Config.Clients, lookups)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "target\tstore\tlaunches\tlaunches/s\tp50 ms\tp90 ms\tp99 ms\tCPU-ms/launch\t×RSA\tallocs\tKiB\tdb CPU-ms\tpg all\tredis CPU-ms\tgen CPU-ms\tdb writes\tjwks\terrors\treplay\t")
		for _, x := range r.Rows {
			store := x.Store
			if x.Filled != "" {
				store += " (filled)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%.0f\t%.2f\t%.2f\t%.2f\t%.3f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\t\n",
				x.Target, store, x.Launches, x.LaunchesPerS, x.P50Ms, x.P90Ms, x.P99Ms, x.CPUMsPerLaunch,
				num(x.CPUVsRSA, "%.1f"), num(x.AllocsPerLaunch, "%.0f"), num(x.BytesPerLaunch/1024, "%.1f"),
				measured(x.DBCPUMsPerLaunch, "%.3f"), measured(x.DBServerCPUMsPerLaunch, "%.3f"), measured(x.RedisCPUMsPerLaunch, "%.3f"), num(x.GenCPUMs, "%.2f"), measured(x.WritesPerLaunch, "%.2f"), x.JWKSFetches, x.Errors, replayWord(x))
		}
		tw.Flush()
		fmt.Fprintf(w, "  CPU-ms/launch: the server's CPU per launch (another process: /proc/<pid>/stat; in-process: the process's CPU time × the share of CPU profile\n")
		fmt.Fprintf(w, "  samples labeled role=server, GC apportioned by allocated bytes). ×RSA: that ÷ the RSA-2048 verify floor. allocs, KiB: the server's, in-process\n")
		fmt.Fprintf(w, "  only (allocs profile, stacks under net/http's server); own-process: the child's runtime counters. db CPU-ms: the PostgreSQL backends\n")
		fmt.Fprintf(w, "  serving the tool (its connections in pg_stat_activity, by application_name, or by database for ltijs; CPU from /proc). pg all: the\n")
		fmt.Fprintf(w, "  whole PostgreSQL server's process tree (the postmaster, its processes, the backends it reaped meanwhile): background writers and\n")
		fmt.Fprintf(w, "  every other session's work included. redis CPU-ms: the same for redis-server (store redis: states and nonces in Redis, registrations\n")
		fmt.Fprintf(w, "  in PostgreSQL). CPU differences are never below 0. gen CPU-ms: the load generator's, the platform's RSA signing of each id_token\n")
		fmt.Fprintf(w, "  included. db writes: rows written to the SQL login tables.\n")
		fmt.Fprintf(w, "  jwks: key set fetches during the measured launches. replay: the last launch posted again with its state cookie.\n\n")

		var floorLines []string
		for _, x := range r.Rows {
			if x.P50VsFloor > 0 {
				floorLines = append(floorLines, fmt.Sprintf("  %-22s p50 = %5.1f × the %s floor's round trip; launches/s = %.2f × its pairs/s",
					x.Target+"/"+x.Store+map[bool]string{true: " (filled)"}[x.Filled != ""], x.P50VsFloor, x.Store, x.LaunchesVsFloor))
			}
		}
		if len(floorLines) > 0 {
			fmt.Fprintf(w, "Launches against their database floors:\n%s\n\n", strings.Join(floorLines, "\n"))
		}
	}
	writeCapacity(w, r)
	if len(r.Comparisons) > 0 {
		fmt.Fprintf(w, "Ratios:\n")
		for _, c := range r.Comparisons {
			fmt.Fprintf(w, "  %s\n", c.Text)
		}
		fmt.Fprintln(w)
	}
	writeOpenLoop(w, r)
	if len(r.Targets) > 0 {
		fmt.Fprintf(w, "Targets (-strict fails on a miss):\n")
		for _, t := range r.Targets {
			fmt.Fprintf(w, "  %s\n", t.Text)
		}
		fmt.Fprintln(w)
	}
	for _, x := range r.Rows {
		for _, e := range x.ErrorSamples {
			fmt.Fprintf(w, "error in %s/%s: %s\n", x.Target, x.Store, e)
		}
	}
	for _, f := range r.Failed {
		fmt.Fprintf(w, "failed: %s\n", f)
	}
}

// writeCapacity prints each configuration's CPU per launch of tool and
// store, its capacity, the headline ratio to ltijs and the distance from
// the launch floor.
func writeCapacity(w io.Writer, r *results) {
	have := false
	for _, x := range r.Rows {
		have = have || x.Capacity > 0
	}
	if !have {
		return
	}
	fmt.Fprintf(w, "Capacity: launches per CPU-second of the tool and its store together (1000 ÷ their CPU-ms per launch):\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\tstore\ttool CPU-ms\tstore CPU-ms\tlaunches/CPU-s\t× ltijs\ttool × floor\t")
	for _, x := range r.Rows {
		store := x.Store
		if x.Filled != "" {
			store += " (filled)"
		}
		tool := fmt.Sprintf("%.3f", x.CPUMsPerLaunch)
		if len(x.NodeCPUMsPerLaunch) > 1 {
			parts := make([]string, len(x.NodeCPUMsPerLaunch))
			for i, c := range x.NodeCPUMsPerLaunch {
				parts[i] = fmt.Sprintf("%.3f", c)
			}
			tool += " (" + strings.Join(parts, "+") + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", x.Target, store, tool, measured(x.StoreCPUMsPerLaunch, "%.3f"),
			num(x.Capacity, "%.0f"), num(x.CapacityVsPeer, "%.1f"), num(x.VsFloor, "%.1f"))
	}
	tw.Flush()
	fmt.Fprintf(w, "  store CPU-ms: db CPU-ms + redis CPU-ms above (0: the store runs inside the tool's process). × ltijs: the capacity ÷\n")
	fmt.Fprintf(w, "  ltijs/postgres's in this run, the headline ratio. own-process-2: two nodes, tool CPU summed over both (each node's in parentheses),\n")
	fmt.Fprintf(w, "  so its capacity is launches per node-CPU-second, the single node's figure when a second node costs nothing.\n")
	if f := r.Floor; f != nil {
		fmt.Fprintf(w, "  tool × floor: the tool's CPU per launch ÷ %.1f µs, the launch floor: %s.\n", f.Micros, f.What)
	} else {
		fmt.Fprintf(w, "  tool × floor: not measured (-micro 0).\n")
	}
	fmt.Fprintln(w)
}

func writeJSON(path string, r *results) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// writeChart draws two horizontal bar charts, launches/s and p99 latency
// per configuration, as one SVG.
func writeChart(path string, r *results) error {
	type bar struct {
		label string
		value float64
	}
	var rate, p99 []bar
	for _, x := range r.Rows {
		if x.LaunchesPerS <= 0 {
			continue
		}
		label := x.Target + "/" + x.Store
		if x.Filled != "" {
			label += " (filled)"
		}
		rate = append(rate, bar{label, x.LaunchesPerS})
		p99 = append(p99, bar{label, x.P99Ms})
	}
	const (
		width  = 900
		left   = 210
		barH   = 22
		gap    = 8
		top    = 56
		panelW = (width - left - 40) / 2
	)
	n := len(rate)
	height := top + n*(barH+gap) + 40
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	lookups := ""
	if r.Config.LookupCache != "" {
		lookups = ", lookups cached " + r.Config.LookupCache
	}
	fmt.Fprintf(&b, `<text x="10" y="20" font-size="14" font-weight="bold">ltibench: complete LTI 1.3 launches over HTTP, %d clients%s, %d CPUs (%s)</text>`+"\n",
		r.Config.Clients, html.EscapeString(lookups), r.Machine.CPUs, html.EscapeString(r.Machine.Started))
	panel := func(x0 int, title string, bars []bar, format string, color string) {
		maxV := 0.0
		for _, v := range bars {
			maxV = max(maxV, v.value)
		}
		if maxV == 0 {
			maxV = 1
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-weight="bold">%s</text>`+"\n", x0, top-12, html.EscapeString(title))
		for i, v := range bars {
			y := top + i*(barH+gap)
			w := int(float64(panelW-60) * v.value / maxV)
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="%s"/>`+"\n", x0, y, max(w, 1), barH, color)
			fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>`+"\n", x0+max(w, 1)+4, y+barH-6, html.EscapeString(fmt.Sprintf(format, v.value)))
		}
	}
	for i, v := range rate {
		y := top + i*(barH+gap)
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n", left-10, y+barH-6, html.EscapeString(v.label))
	}
	panel(left, "launches/s (higher is better)", rate, "%.0f", "#3b7dd8")
	panel(left+panelW+20, "p99 latency (lower is better)", p99, "%.1f ms", "#d8803b")
	fmt.Fprintf(&b, `<text x="10" y="%d" fill="#555">load average %s → %s; latency = login + launch post round trips</text>`+"\n",
		height-12, html.EscapeString(r.Machine.LoadStart), html.EscapeString(r.Machine.LoadFinish))
	b.WriteString("</svg>\n")
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
