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
	// OpenLoop is the open-loop latency at fixed arrival rates (-rates).
	OpenLoop *openLoopResult `json:"open_loop,omitempty"`
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

	AllocsPerLaunch  float64 `json:"allocs_per_launch"` // -1: not measured (another process)
	BytesPerLaunch   float64 `json:"bytes_per_launch"`
	DBCPUMsPerLaunch float64 `json:"db_cpu_ms_per_launch"` // PostgreSQL's processes; -1: not measured
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
	}
	for i := range r.Rows {
		w := &r.Rows[i]
		if rsa > 0 && w.CPUMsPerLaunch > 0 {
			w.CPUVsRSA = w.CPUMsPerLaunch / rsa
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
	if peer := find("ltijs", "postgres", ""); peer != nil {
		for _, t := range []string{"in-process", "own-process", "demo-tool"} {
			w := find(t, "postgres", "")
			if w == nil {
				continue
			}
			r.Comparisons = append(r.Comparisons, comparison{
				What: t + "_vs_ltijs_launches", Value: w.LaunchesPerS / peer.LaunchesPerS,
				Text: fmt.Sprintf("%s/postgres: %.1f × the launches/s of ltijs/postgres (%.0f vs %.0f; target ≥ 10)", t, w.LaunchesPerS/peer.LaunchesPerS, w.LaunchesPerS, peer.LaunchesPerS)})
			if w.CPUMsPerLaunch > 0 {
				r.Comparisons = append(r.Comparisons, comparison{
					What: t + "_vs_ltijs_cpu", Value: peer.CPUMsPerLaunch / w.CPUMsPerLaunch,
					Text: fmt.Sprintf("%s/postgres: 1/%.1f of ltijs's server CPU per launch (%.2f vs %.2f ms; target ≤ 1/10)", t, peer.CPUMsPerLaunch/w.CPUMsPerLaunch, w.CPUMsPerLaunch, peer.CPUMsPerLaunch)})
			}
			r.Comparisons = append(r.Comparisons, derivedVsPeer(t, w, peer, r.Machine.CPUs)...)
		}
	}
	for i := range r.Rows {
		w := &r.Rows[i]
		if w.Filled == "" {
			continue
		}
		if empty := find(w.Target, w.Store, ""); empty != nil && w.LaunchesPerS > 0 {
			r.Comparisons = append(r.Comparisons, comparison{
				What: w.Target + "_" + w.Store + "_filled_vs_empty", Value: w.LaunchesPerS / empty.LaunchesPerS,
				Text: fmt.Sprintf("%s/%s with %s: %.2f × the launches/s of the empty database (%.0f vs %.0f; target ≥ 0.90); server CPU %.3f vs %.3f ms, database CPU %s vs %s ms per launch; p99 %.1f vs %.1f ms",
					w.Target, w.Store, w.Filled, w.LaunchesPerS/empty.LaunchesPerS, w.LaunchesPerS, empty.LaunchesPerS,
					w.CPUMsPerLaunch, empty.CPUMsPerLaunch, num(w.DBCPUMsPerLaunch, "%.3f"), num(empty.DBCPUMsPerLaunch, "%.3f"), w.P99Ms, empty.P99Ms)})
		}
	}
	for _, t := range []string{"in-process", "demo-tool"} {
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
			r.Comparisons = append(r.Comparisons, comparison{
				What: w.Target + "_postgres_p99", Value: w.P99Ms,
				Text: fmt.Sprintf("%s/postgres at %d clients: p99 %.1f ms (target ≤ 10 ms)", w.Target, w.Clients, w.P99Ms)})
		}
	}
}

// derivedVsPeer are two figures derived from w's and the peer's measured
// CPU, not targets: what the load generator leaves for any tool on these
// CPUs, and the launches each side gets from a CPU-second of its own.
//
//   - ceiling: were w's server process free, the launches/s the CPUs could
//     give when every launch still costs the generator (the platform's RSA
//     signing) and the database (w's own statements) what they cost in
//     w's run: CPUs ÷ (generator + database CPU per launch), an upper
//     bound, and that bound as a ratio to the peer's measured launches/s;
//   - capacity: launches per CPU-second of server and database together,
//     w's ÷ the peer's; the ratio the launches/s would approach with the
//     generator on CPUs of its own.
func derivedVsPeer(target string, w, peer *row, cpus int) []comparison {
	var out []comparison
	if cost := w.GenCPUMs + w.DBCPUMsPerLaunch; w.GenCPUMs > 0 && w.DBCPUMsPerLaunch > 0 && cpus > 0 {
		ceiling := float64(cpus) * 1e3 / cost
		out = append(out, comparison{
			What: target + "_ceiling_vs_ltijs", Value: ceiling / peer.LaunchesPerS,
			Text: fmt.Sprintf("%s/postgres: even if its server process cost no CPU, the generator (%.2f ms) and the database (%.2f ms) per launch would cap %d CPUs at %.0f launches/s = %.1f × ltijs (derived)",
				target, w.GenCPUMs, w.DBCPUMsPerLaunch, cpus, ceiling, ceiling/peer.LaunchesPerS)})
	}
	own, theirs := w.CPUMsPerLaunch+w.DBCPUMsPerLaunch, peer.CPUMsPerLaunch+peer.DBCPUMsPerLaunch
	if w.CPUMsPerLaunch > 0 && w.DBCPUMsPerLaunch > 0 && peer.CPUMsPerLaunch > 0 && peer.DBCPUMsPerLaunch > 0 {
		out = append(out, comparison{
			What: target + "_capacity_vs_ltijs", Value: theirs / own,
			Text: fmt.Sprintf("%s/postgres: %.1f × the launches of ltijs per CPU-second of server and database (%.0f vs %.0f; %.2f vs %.2f ms per launch; derived)",
				target, theirs/own, 1e3/own, 1e3/theirs, own, theirs)})
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
		for _, c := range r.Comparisons {
			switch {
			case strings.HasSuffix(c.What, "_vs_ltijs_launches") && c.Value < 10,
				strings.HasSuffix(c.What, "_vs_ltijs_cpu") && c.Value < 10,
				strings.HasSuffix(c.What, "_filled_vs_empty") && c.Value < 0.9,
				strings.HasSuffix(c.What, "_postgres_p99") && c.Value > 10:
				f = append(f, "target missed: "+c.Text)
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
	fmt.Fprintf(w, "  %s\n\n", m.SharedNote)

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
			fmt.Fprintf(w, "  login initiation          %7.1f µs   %5.0f allocs  %6.1f KiB (LoginHandler with httptest, request building included)\n\n", mi.LoginMicros, mi.LoginAllocs, mi.LoginBytes/1024)
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
		fmt.Fprintln(tw, "target\tstore\tlaunches\tlaunches/s\tp50 ms\tp90 ms\tp99 ms\tCPU-ms/launch\t×RSA\tallocs\tKiB\tdb CPU-ms\tredis CPU-ms\tgen CPU-ms\tdb writes\tjwks\terrors\treplay\t")
		for _, x := range r.Rows {
			store := x.Store
			if x.Filled != "" {
				store += " (filled)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%.0f\t%.2f\t%.2f\t%.2f\t%.3f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\t\n",
				x.Target, store, x.Launches, x.LaunchesPerS, x.P50Ms, x.P90Ms, x.P99Ms, x.CPUMsPerLaunch,
				num(x.CPUVsRSA, "%.1f"), num(x.AllocsPerLaunch, "%.0f"), num(x.BytesPerLaunch/1024, "%.1f"),
				num(x.DBCPUMsPerLaunch, "%.3f"), measured(x.RedisCPUMsPerLaunch, "%.3f"), num(x.GenCPUMs, "%.2f"), measured(x.WritesPerLaunch, "%.2f"), x.JWKSFetches, x.Errors, replayWord(x))
		}
		tw.Flush()
		fmt.Fprintf(w, "  CPU-ms/launch: the server's CPU per launch (another process: /proc/<pid>/stat; in-process: the process's CPU time × the share of CPU profile\n")
		fmt.Fprintf(w, "  samples labeled role=server, GC apportioned by allocated bytes). ×RSA: that ÷ the RSA-2048 verify floor. allocs, KiB: the server's, in-process\n")
		fmt.Fprintf(w, "  only (allocs profile, stacks under net/http's server). db CPU-ms: all postgres processes. redis CPU-ms: all redis-server processes (store\n")
		fmt.Fprintf(w, "  redis: states and nonces in Redis, registrations in PostgreSQL). gen CPU-ms: the load generator's, the platform's RSA signing of each\n")
		fmt.Fprintf(w, "  id_token included, on the same CPUs. db writes: rows written to the SQL login tables.\n")
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
	if len(r.Comparisons) > 0 {
		fmt.Fprintf(w, "Ratios:\n")
		for _, c := range r.Comparisons {
			fmt.Fprintf(w, "  %s\n", c.Text)
		}
		fmt.Fprintln(w)
	}
	writeOpenLoop(w, r)
	for _, x := range r.Rows {
		for _, e := range x.ErrorSamples {
			fmt.Fprintf(w, "error in %s/%s: %s\n", x.Target, x.Store, e)
		}
	}
	for _, f := range r.Failed {
		fmt.Fprintf(w, "failed: %s\n", f)
	}
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
