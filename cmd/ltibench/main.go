package main

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	gormsqlite "github.com/ltikit/ltikit/adapters/gorm/sqlite"
	"github.com/ltikit/ltikit/ltitest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// options are the command line.
type options struct {
	targets        []string
	stores         []string
	clients        int
	launches       int
	duration       time.Duration
	warmup         int
	postgres       string
	redis          string
	demoTool       string
	ltijsDir       string
	node           string
	micro          time.Duration
	floors         time.Duration
	fillRegs       int
	fillStates     int
	jsonOut        string
	chartOut       string
	quiet          bool
	strict         bool
	memProfileRate int
	profileDir     string
	repeat         int
	lookupCache    time.Duration
	// pin places the load generator on one CPU and the tools with their
	// stores on another (see pinning).
	pin bool
	// open holds -rates and the other open-loop flags (openloop.go).
	open openLoopOptions
}

const defaultPostgres = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("ltibench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	targets := fs.String("targets", "in-process", "comma-separated servers to launch: in-process, own-process, own-process-2 (two own-process nodes on one PostgreSQL, each login sent to one and its launch post to the other), demo-tool, ltijs")
	stores := fs.String("stores", "memory,sqlite,postgres", "comma-separated stores: memory, sqlite, postgres, redis (states in Redis, registrations in PostgreSQL; in-process, own-process and demo-tool) (demo-tool: sqlite, postgres, redis; own-process-2 and ltijs: postgres)")
	fs.IntVar(&o.clients, "clients", 8, "concurrent clients (browsers)")
	fs.IntVar(&o.launches, "launches", 2000, "measured launches per configuration; 0 runs for -duration instead")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "measured time per configuration when -launches is 0")
	fs.IntVar(&o.warmup, "warmup", 100, "unmeasured launches before each measurement")
	pg := getenv("LTIKIT_TEST_POSTGRES_DSN")
	if pg == "" {
		pg = defaultPostgres
	}
	fs.StringVar(&o.postgres, "postgres", pg, "PostgreSQL URL (default $LTIKIT_TEST_POSTGRES_DSN, else "+defaultPostgres+"); each configuration gets a schema of its own")
	rd := getenv("LTIKIT_TEST_REDIS_URL")
	if rd == "" {
		rd = defaultRedis
	}
	fs.StringVar(&o.redis, "redis", rd, "Redis URL of the redis store (default $LTIKIT_TEST_REDIS_URL, else "+defaultRedis+"); each configuration gets a key prefix of its own")
	fs.StringVar(&o.demoTool, "demo-tool", "", "demo-tool binary (default: go build github.com/ltikit/ltikit/cmd/demo-tool into a temporary directory)")
	fs.StringVar(&o.ltijsDir, "ltijs", "bench/peers/ltijs", "directory of the ltijs peer, with its node_modules installed (npm ci)")
	fs.StringVar(&o.node, "node", "node", "node binary for the ltijs peer")
	fs.DurationVar(&o.micro, "micro", 3*time.Second, "time for the in-process validation measurement against the RSA floor; 0 skips it")
	fs.DurationVar(&o.floors, "floors", 2*time.Second, "time for each raw database floor; 0 skips them")
	fill := fs.String("fill", "", "registrations,states: also run each SQL configuration with that many registrations and login states (half expired) stored, e.g. 100000,1000000")
	fs.StringVar(&o.jsonOut, "json", "", "write the results as JSON to this file")
	fs.StringVar(&o.chartOut, "chart", "", "draw launches/s and p99 per configuration into this SVG file")
	fs.BoolVar(&o.quiet, "q", false, "no progress lines")
	fs.BoolVar(&o.strict, "strict", false, "exit 1 when a performance target is missed, too (errors and a replay that is not refused always do)")
	fs.IntVar(&o.memProfileRate, "memprofilerate", 16<<10, "runtime.MemProfileRate while launches run, for the in-process allocation figures")
	fs.IntVar(&o.repeat, "repeat", 1, "measure each configuration this many times on the same server and report the run with the median launches/s (the machine may be shared)")
	fs.DurationVar(&o.lookupCache, "lookup-cache", 0, "serve registrations and deployments from storage.CacheLookups with this TTL (in-process, own-process; demo-tool --lookup-cache); 0: from the database on every launch")
	fs.StringVar(&o.profileDir, "profiles", "", "save the CPU profile of each in-process configuration here (go tool pprof -tagfocus role=server …), and of each own-process child over its whole life (warm-up, runs and replay; numbered in the order they start)")
	fs.BoolVar(&o.pin, "pin", false, "Linux, 2+ CPUs: the load generator (this process, GOMAXPROCS 1) on one CPU; the tools under test, PostgreSQL and redis-server on another; every affinity changed is restored at the end (not with -targets in-process)")
	rates := fs.String("rates", "", "open loop after the closed-loop runs: arrival rates, launches/s or % of the configuration's closed-loop launches/s (e.g. 50,100,25%), or auto (10,25,50,70,85,100,110%); half the closed-loop rate is added for ltikit; empty: no open loop")
	fs.DurationVar(&o.open.step, "step", 5*time.Second, "open loop: time per rate")
	fs.IntVar(&o.open.launches, "step-launches", 0, "open loop: launches per rate instead of -step")
	fs.DurationVar(&o.open.p99Cap, "p99-cap", time.Second, "open loop: no higher rate once a rate's p99 exceeds this")
	fs.StringVar(&o.open.arrivals, "arrivals", "uniform", "open loop: uniform (fixed intervals) or poisson (exponential gaps)")
	fs.StringVar(&o.open.chart, "latency-chart", "", "open loop: draw p99 against the offered rate into this SVG file")
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	o.targets = splitList(*targets)
	o.stores = splitList(*stores)
	for _, t := range o.targets {
		if t != "in-process" && t != "own-process" && t != "own-process-2" && t != "demo-tool" && t != "ltijs" {
			return o, fmt.Errorf("-targets: unknown target %q", t)
		}
		if t == "in-process" && o.pin {
			return o, errors.New("-pin: the in-process target serves from ltibench's own process, which -pin confines to the load generator's CPU, so tool and generator would share one CPU; measure own-process instead")
		}
	}
	for _, s := range o.stores {
		if s != "memory" && s != "sqlite" && s != "postgres" && s != "redis" {
			return o, fmt.Errorf("-stores: unknown store %q", s)
		}
	}
	if o.clients < 1 || o.launches < 0 || o.warmup < 0 || (o.launches == 0 && o.duration <= 0) || o.repeat < 1 {
		return o, errors.New("-clients and -repeat must be positive, -launches and -warmup not negative, -duration positive when -launches is 0")
	}
	if err := o.open.parse(*rates); err != nil {
		return o, err
	}
	if *fill != "" {
		r, s, ok := strings.Cut(*fill, ",")
		var err1, err2 error
		o.fillRegs, err1 = strconv.Atoi(strings.TrimSpace(r))
		o.fillStates, err2 = strconv.Atoi(strings.TrimSpace(s))
		if !ok || err1 != nil || err2 != nil || o.fillRegs < 0 || o.fillStates < 0 {
			return o, fmt.Errorf("-fill %q: want registrations,states", *fill)
		}
	}
	return o, nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

const usage = `ltibench: complete LTI 1.3 launches over HTTP against ltikit, with floors and a peer.

Usage: ltibench [flags]

Each configuration (target × store) is started fresh, warmed up, then driven by
-clients concurrent browsers: login initiation, the tool's redirect to the
platform read from its Location, an id_token minted by the in-process platform
(package ltitest), the form post with the state cookie. The results table goes
to standard output, progress lines to standard error. The exit status is 1
when a launch failed or a replayed launch was not refused.

Flags:
`

// bench is one ltibench run.
type bench struct {
	opts     options
	prefix   string // of the schema and database names, unique per run
	platform *ltitest.Platform
	tmp      string
	demoBin  string
	progress io.Writer
	pin      *pinning // nil without -pin
	children int      // own-process children started, for their profiles' names
}

// childProfile names the CPU profile file of an own-process child (node
// of s), numbered in the order the children start, and says so.
func (b *bench) childProfile(s *site, node int) string {
	b.children++
	name := filepath.Join(b.opts.profileDir, fmt.Sprintf("%s-%s-node%d-%02d.cpu.pprof", s.target, s.store, node, b.children))
	fmt.Fprintf(b.progress, "  CPU profile of %s's node %d: %s\n", s.name(), node, name)
	return name
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if cfg := os.Getenv(childEnv); cfg != "" {
		return serveChild(cfg, stdout, stderr)
	}
	opts, err := parseFlags(args, os.Getenv, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "ltibench: %v\n", err)
		return 2
	}
	res, err := execute(ctx, opts, stderr)
	if res != nil {
		writeTable(stdout, res)
		if opts.jsonOut != "" {
			if werr := writeJSON(opts.jsonOut, res); werr != nil {
				fmt.Fprintf(stderr, "ltibench: %v\n", werr)
				err = errors.Join(err, werr)
			}
		}
		if opts.chartOut != "" {
			if werr := writeChart(opts.chartOut, res); werr != nil {
				fmt.Fprintf(stderr, "ltibench: %v\n", werr)
				err = errors.Join(err, werr)
			}
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "ltibench: %v\n", err)
		return 1
	}
	if failed := res.failures(opts.strict); len(failed) > 0 {
		for _, f := range failed {
			fmt.Fprintf(stderr, "ltibench: FAIL %s\n", f)
		}
		return 1
	}
	return 0
}

// execute runs the whole benchmark. It returns what it measured even when
// a configuration failed.
func execute(ctx context.Context, opts options, stderr io.Writer) (*results, error) {
	b := &bench{opts: opts, progress: stderr, prefix: fmt.Sprintf("ltibench_%d_%d_", os.Getpid(), time.Now().Unix()%100000)}
	if opts.quiet {
		b.progress = io.Discard
	}
	var err error
	if b.tmp, err = os.MkdirTemp("", "ltibench-"); err != nil {
		return nil, err
	}
	defer os.RemoveAll(b.tmp)

	// The platform: its issuer, key set and signing for every target. The
	// tool URLs here are placeholders; launches send their own.
	b.platform, err = ltitest.NewPlatform(ltitest.Config{
		ToolLoginURL:     "http://127.0.0.1/lti/login",
		ToolRedirectURIs: []string{"http://127.0.0.1/lti/launch"},
	})
	if err != nil {
		return nil, err
	}
	defer b.platform.Close()

	if opts.pin {
		p, err := b.placeStores(opts)
		if p != nil {
			defer func() {
				if err := p.restore(); err != nil {
					fmt.Fprintf(stderr, "ltibench: -pin: %v\n", err)
				}
			}()
		}
		if err != nil {
			return nil, err
		}
		b.pin = p
	}
	res := newResults(opts)
	if b.pin != nil {
		res.Topology = &b.pin.topo
		res.Machine.SharedNote = fmt.Sprintf("-pin: the load generator on CPU %d, the tool under test with its store on CPU %d (other processes of the machine may still use both)", b.pin.genCPU, b.pin.toolCPU)
	}
	if opts.micro > 0 {
		fmt.Fprintf(b.progress, "in-process validation against the RSA-2048 verify floor (%s)\n", opts.micro)
		m, err := micro(ctx, b.platform, opts.micro)
		if err != nil {
			m.Err = err.Error()
		}
		res.Micro = &m
	}
	if opts.floors > 0 {
		b.measureFloors(ctx, res)
	}

	runtime.MemProfileRate = opts.memProfileRate
	var errs []error
	for _, target := range opts.targets {
		for _, store := range opts.stores {
			if !supported(target, store) {
				continue
			}
			if ctx.Err() != nil {
				errs = append(errs, ctx.Err())
				break
			}
			rows, err := b.configuration(ctx, target, store)
			res.Rows = append(res.Rows, rows...)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s/%s: %w", target, store, err))
				res.Failed = append(res.Failed, fmt.Sprintf("%s/%s: %v", target, store, err))
			}
		}
	}
	if err := b.openLoop(ctx, res); err != nil {
		errs = append(errs, err)
	}
	res.finish()
	return res, errors.Join(errs...)
}

// placeStores is -pin's set-up: this process on the generator's CPU,
// PostgreSQL (when a configuration uses it) and Redis (with the redis
// store) on the tools'. It refuses a store it cannot place. The pinning
// it returns, when not nil, must be restored even on error.
func (b *bench) placeStores(opts options) (*pinning, error) {
	p, err := newPinning()
	if err != nil {
		return nil, err
	}
	if err := p.generator(); err != nil {
		return p, err
	}
	usesPG, usesRedis := slices.Contains(opts.targets, "ltijs") || slices.Contains(opts.targets, "own-process-2"), false
	for _, st := range opts.stores {
		usesPG = usesPG || st == "postgres" || st == "redis"
		usesRedis = usesRedis || st == "redis"
	}
	if usesPG {
		if !localURL(opts.postgres) {
			return p, fmt.Errorf("-pin: PostgreSQL at %s is not on this machine, so it cannot be placed on a CPU", redact(opts.postgres))
		}
		if err := p.store("postgres", "PostgreSQL (the postmaster and all its processes)"); err != nil {
			return p, err
		}
	}
	if usesRedis {
		if !localURL(opts.redis) {
			return p, fmt.Errorf("-pin: Redis at %s is not on this machine, so it cannot be placed on a CPU", redactRedis(opts.redis))
		}
		if err := p.store(redisCommand, "Redis (redis-server, all its threads)"); err != nil {
			return p, err
		}
	}
	p.note(fmt.Sprintf("CPU %d: the tool under test (own-process children, demo-tool serve, node for ltijs), every thread, moved as it starts and checked again before each measurement", p.toolCPU))
	return p, nil
}

// supported reports whether target runs on store.
func supported(target, store string) bool {
	switch target {
	case "demo-tool":
		return store != "memory"
	case "ltijs", "own-process-2":
		return store == "postgres"
	}
	return true
}

// start starts target on store and, with -pin, places its server
// processes on the tools' CPU; closing the site forgets them again.
func (b *bench) start(ctx context.Context, target, store string) (*site, error) {
	s, err := b.startServer(ctx, target, store)
	if err != nil || b.pin == nil {
		return s, err
	}
	forget := func() {
		for _, pid := range s.pids {
			b.pin.forget(pid)
		}
	}
	for _, pid := range s.pids {
		if err := b.pin.tool(pid); err != nil {
			if cerr := s.close(); cerr != nil {
				fmt.Fprintf(b.progress, "stopping %s: %v\n", s.name(), cerr)
			}
			forget()
			return nil, err
		}
	}
	stop := s.close
	s.close = func() error {
		defer forget()
		return stop()
	}
	return s, nil
}

func (b *bench) startServer(ctx context.Context, target, store string) (*site, error) {
	switch target {
	case "in-process":
		return b.startInProcess(ctx, store)
	case "own-process":
		return b.startOwnProcess(ctx, target, store, 1)
	case "own-process-2":
		return b.startOwnProcess(ctx, target, store, 2)
	case "demo-tool":
		return b.startDemoTool(ctx, store)
	case "ltijs":
		return b.startLTIJS(ctx, store)
	}
	return nil, fmt.Errorf("unknown target %q", target)
}

// configuration starts one target on one store, measures it (and again
// with the database filled, with -fill), checks a replay, and stops it.
func (b *bench) configuration(ctx context.Context, target, store string) ([]row, error) {
	fmt.Fprintf(b.progress, "starting %s/%s\n", target, store)
	s, err := b.start(ctx, target, store)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err := s.close(); err != nil {
			fmt.Fprintf(b.progress, "stopping %s: %v\n", s.name(), err)
		}
	}()
	g := newGenerator(b.platform, b.opts.clients)
	defer g.transport.CloseIdleConnections()

	var rows []row
	r, err := b.measureRepeated(ctx, g, s, "")
	rows = append(rows, r)
	if err != nil {
		return rows, err
	}
	if (b.opts.fillRegs > 0 || b.opts.fillStates > 0) && s.fill != nil {
		fmt.Fprintf(b.progress, "  filling %s: %d registrations, %d login states\n", s.name(), b.opts.fillRegs, b.opts.fillStates)
		t := time.Now()
		if err := s.fill(ctx, b.opts.fillRegs, b.opts.fillStates); err != nil {
			return rows, err
		}
		fmt.Fprintf(b.progress, "  filled in %s\n", time.Since(t).Round(time.Millisecond))
		fr, err := b.measureRepeated(ctx, g, s, fmt.Sprintf("%d regs, %d states", b.opts.fillRegs, b.opts.fillStates))
		rows = append(rows, fr)
		if err != nil {
			return rows, err
		}
	}
	return rows, nil
}

// measureRepeated measures -repeat times and returns the run with the
// median launches/s, with every run's launches/s.
func (b *bench) measureRepeated(ctx context.Context, g *generator, s *site, filled string) (row, error) {
	var runs []row
	for i := range b.opts.repeat {
		r, err := b.measure(ctx, g, s, filled, i > 0)
		if err != nil {
			return r, err
		}
		runs = append(runs, r)
	}
	rates := make([]float64, len(runs))
	for i, r := range runs {
		rates[i] = r.LaunchesPerS
	}
	sorted := slices.Clone(runs)
	slices.SortFunc(sorted, func(a, b row) int { return cmp.Compare(a.LaunchesPerS, b.LaunchesPerS) })
	m := sorted[(len(sorted)-1)/2]
	if len(runs) > 1 {
		m.RunsPerS = rates
	}
	return m, nil
}

// measure warms up, then runs the measured launches with the server's
// costs read around them, then replays the last launch.
func (b *bench) measure(ctx context.Context, g *generator, s *site, filled string, warm bool) (row, error) {
	o := b.opts
	r := row{Target: s.target, Store: s.store, Clients: o.clients, Filled: filled,
		AllocsPerLaunch: -1, BytesPerLaunch: -1, DBCPUMsPerLaunch: -1, DBServerCPUMsPerLaunch: -1, RedisCPUMsPerLaunch: -1, WritesPerLaunch: -1}
	label := "warm-up"
	if o.warmup > 0 && !warm {
		w := g.run(ctx, s, min(o.clients, o.warmup), o.warmup, 0, label, b.progress)
		if w.errors > 0 {
			r.Errors = w.errors
			r.ErrorSamples = w.errorMsgs
			return r, fmt.Errorf("warm-up: %d of %d launches failed: %s%s", w.errors, w.launches, strings.Join(w.errorMsgs, "; "), tail(s))
		}
	}

	if b.pin != nil {
		// Threads a server created while it was being moved, and anything
		// else that strayed, back on the tools' CPU.
		if err := b.pin.resweep(); err != nil {
			return r, err
		}
	}
	jwks0 := b.platform.KeySetRequests()
	var writes0 int64
	if s.writes != nil {
		var err error
		if writes0, err = s.writes(ctx); err != nil {
			return r, fmt.Errorf("counting rows: %w", err)
		}
	}
	var (
		cpuProfile bytes.Buffer
		allocs0    allocTotals
		self0      time.Duration
		proc0      []time.Duration
		profiling  bool
	)
	dbCPU := s.store == "postgres" || s.store == "redis"
	db0, dbOK := serverCPU("postgres")
	backends0 := b.backendCPU(ctx, s)
	redisCPU := s.store == "redis"
	redis0, redisOK := serverCPU(redisCommand)
	if len(s.pids) == 0 {
		runtime.GC()
		var err error
		if allocs0, err = readAllocs(); err != nil {
			return r, err
		}
		if err := pprof.StartCPUProfile(&cpuProfile); err == nil {
			profiling = true
		}
	} else {
		for _, pid := range s.pids {
			c, err := procCPU(pid)
			if err != nil {
				return r, err
			}
			proc0 = append(proc0, c)
		}
	}
	var stats0 memStats
	if s.stats != nil {
		var err error
		if stats0, err = s.stats(ctx); err != nil {
			return r, fmt.Errorf("server stats: %w", err)
		}
	}
	self0 = selfCPU()

	label = "measured"
	if filled != "" {
		label = "filled"
	}
	st := g.run(ctx, s, o.clients, o.launches, o.duration, label, b.progress)

	self := selfCPU() - self0
	if len(s.pids) == 0 {
		cpu := self
		if profiling {
			pprof.StopCPUProfile()
		}
		allocs1, err := readAllocs()
		if err != nil {
			return r, err
		}
		d := allocs1.sub(allocs0)
		share := 0.0
		if d.serverBytes+d.otherBytes > 0 {
			share = float64(d.serverBytes) / float64(d.serverBytes+d.otherBytes)
		}
		if ok := len(st.latencies); ok > 0 {
			r.AllocsPerLaunch = float64(d.serverObjects) / float64(ok)
			r.BytesPerLaunch = float64(d.serverBytes) / float64(ok)
		}
		frac, genFrac := 0.0, 0.0
		if profiling {
			if shares, err := readCPUShares(cpuProfile.Bytes()); err == nil {
				frac = shares.serverFraction(share)
				genFrac = 1 - frac
				r.CPUSamples = shares.server + shares.client + shares.unlabeled
				r.CPUShares = fmt.Sprintf("server %.0f ms, client %.0f ms, unlabeled %.0f ms of profiled CPU; the server allocated %.0f%% of the bytes",
					float64(shares.server)/1e6, float64(shares.client)/1e6, float64(shares.unlabeled)/1e6, 100*share)
			}
		}
		if profiling && o.profileDir != "" {
			name := filepath.Join(o.profileDir, s.target+"-"+s.store+map[bool]string{true: "-filled"}[filled != ""]+".cpu.pprof")
			if err := os.WriteFile(name, cpuProfile.Bytes(), 0o644); err != nil {
				fmt.Fprintf(b.progress, "  saving the CPU profile: %v\n", err)
			}
		}
		r.ProcessCPUMs = float64(cpu) / float64(time.Millisecond)
		r.serverCPU = time.Duration(float64(cpu) * frac)
		r.genCPU = time.Duration(float64(cpu) * genFrac)
		r.CPUSource = "CPU profile labels (role=server) × process CPU time"
	} else {
		var nodes []time.Duration
		var sources []string
		for i, pid := range s.pids {
			proc1, err := procCPU(pid)
			if err != nil {
				return r, err
			}
			nodes = append(nodes, proc1-proc0[i])
			r.serverCPU += proc1 - proc0[i]
			sources = append(sources, "/proc/"+strconv.Itoa(pid)+"/stat")
		}
		if ok := len(st.latencies); len(nodes) > 1 && ok > 0 {
			r.Nodes = len(nodes)
			for _, c := range nodes {
				r.NodeCPUMsPerLaunch = append(r.NodeCPUMsPerLaunch, ms(c)/float64(ok))
			}
		}
		r.genCPU = self
		r.CPUSource = strings.Join(sources, " + ")
		if s.stats != nil {
			if stats1, err := s.stats(ctx); err == nil && len(st.latencies) > 0 {
				n := float64(len(st.latencies))
				r.AllocsPerLaunch = float64(stats1.Mallocs-stats0.Mallocs) / n
				r.BytesPerLaunch = float64(stats1.TotalAlloc-stats0.TotalAlloc) / n
			}
		}
	}
	dbUsed, dbAll, redisUsed := time.Duration(-1), time.Duration(-1), time.Duration(-1)
	if dbCPU {
		dbAll = cpuSince("postgres", db0, dbOK)
		if backends0 != nil {
			if backends1 := b.backendCPU(ctx, s); backends1 != nil {
				dbUsed = backendsUsed(backends0, backends1)
			}
		}
	}
	if redisCPU {
		redisUsed = cpuSince(redisCommand, redis0, redisOK)
	}
	r.JWKSFetches = b.platform.KeySetRequests() - jwks0
	if s.writes != nil {
		if w1, err := s.writes(ctx); err == nil && len(st.latencies) > 0 {
			r.WritesPerLaunch = float64(w1-writes0) / float64(len(st.latencies))
		}
	}

	r.Launches = st.launches
	r.Errors = st.errors
	r.ErrorSamples = st.errorMsgs
	r.WallSeconds = st.wall.Seconds()
	ok := len(st.latencies)
	if ok > 0 {
		r.LaunchesPerS = float64(ok) / st.wall.Seconds()
		r.P50Ms = ms(percentile(st.latencies, 50))
		r.P90Ms = ms(percentile(st.latencies, 90))
		r.P99Ms = ms(percentile(st.latencies, 99))
		r.MaxMs = ms(st.latencies[ok-1])
		r.CPUMsPerLaunch = ms(r.serverCPU) / float64(ok)
		r.GenCPUMs = ms(r.genCPU) / float64(ok)
		if dbUsed >= 0 {
			r.DBCPUMsPerLaunch = ms(dbUsed) / float64(ok)
		}
		if dbAll >= 0 {
			r.DBServerCPUMsPerLaunch = ms(dbAll) / float64(ok)
		}
		if redisUsed >= 0 {
			r.RedisCPUMsPerLaunch = ms(redisUsed) / float64(ok)
		}
	}
	if st.last != nil {
		refused, status, err := g.replay(ctx, st.last)
		r.ReplayChecked = true
		r.ReplayRefused = refused
		r.ReplayStatus = status
		if err != nil {
			r.ReplayError = err.Error()
		}
	}
	fmt.Fprintf(b.progress, "  %-22s %d launches in %.1fs: %.0f/s, p99 %.1f ms, errors %d, replay %s\n",
		s.name(), r.Launches, r.WallSeconds, r.LaunchesPerS, r.P99Ms, r.Errors, replayWord(r))
	if st.errors > 0 {
		return r, fmt.Errorf("%d of %d launches failed: %s%s", st.errors, st.launches, strings.Join(st.errorMsgs, "; "), tail(s))
	}
	if ok == 0 {
		return r, errNoLaunch
	}
	return r, nil
}

// backendCPU reads the CPU so far of the PostgreSQL backends serving s
// (pgBackends): nil when s keeps nothing in PostgreSQL or they cannot be
// read (PostgreSQL on another machine).
func (b *bench) backendCPU(ctx context.Context, s *site) map[int]time.Duration {
	if s.pgApp == "" && s.pgDB == "" {
		return nil
	}
	pids, err := pgBackends(ctx, b.opts.postgres, s.pgApp, s.pgDB)
	if err != nil {
		fmt.Fprintf(b.progress, "  %s: listing its PostgreSQL backends: %v\n", s.name(), err)
		return nil
	}
	cpu := backendCPU(pids)
	if len(pids) > 0 && len(cpu) == 0 {
		return nil
	}
	return cpu
}

func tail(s *site) string {
	if s.logTail == nil {
		return ""
	}
	return "\nserver log:\n" + s.logTail()
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// measureFloors measures the raw database floors of the stores in use.
func (b *bench) measureFloors(ctx context.Context, res *results) {
	for _, store := range b.opts.stores {
		switch store {
		case "postgres":
			fmt.Fprintf(b.progress, "PostgreSQL floor (pgx insert + conditional consume, %s)\n", b.opts.floors)
			dsn, drop, err := pgSchema(ctx, b.opts.postgres, b.prefix+"floor")
			if err != nil {
				res.Floors = append(res.Floors, floorResult{Name: "PostgreSQL insert + conditional consume (pgx)", Error: err.Error()})
				continue
			}
			res.Floors = append(res.Floors, pgxFloor(ctx, dsn, b.opts.clients, b.opts.floors))
			drop()
		case "sqlite":
			fmt.Fprintf(b.progress, "SQLite floor (insert + conditional consume, %s)\n", b.opts.floors)
			name := "SQLite insert + conditional consume (database/sql)"
			path := filepath.Join(b.tmp, "floor.db")
			db, err := gormsqlite.Open(path)
			if err != nil {
				res.Floors = append(res.Floors, floorResult{Name: name, Error: err.Error()})
				continue
			}
			sqlDB, err := db.DB()
			if err != nil {
				res.Floors = append(res.Floors, floorResult{Name: name, Error: err.Error()})
				continue
			}
			f := sqlFloor(ctx, name, sqlDB, b.opts.clients, b.opts.floors)
			f.Detail += " on the adapter's SQLite pool (WAL, " + strconv.Itoa(gormsqlite.MaxConns) + " connections)"
			res.Floors = append(res.Floors, f)
			sqlDB.Close()
		}
	}
}
