package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"gorm.io/gorm"

	gormadapter "github.com/ltikit/ltikit/adapters/gorm"
	gormpostgres "github.com/ltikit/ltikit/adapters/gorm/postgres"
	gormsqlite "github.com/ltikit/ltikit/adapters/gorm/sqlite"
	"github.com/ltikit/ltikit/adapters/memory"
	"github.com/ltikit/ltikit/deployment"
	"github.com/ltikit/ltikit/launch"
	"github.com/ltikit/ltikit/registration"
	"github.com/ltikit/ltikit/storage"
)

// openSQL opens the GORM adapter's database for a store: a fresh SQLite
// file in dir, or a fresh schema in the PostgreSQL database. It returns
// the DSN (for another process), the *gorm.DB and a cleanup.
func (b *bench) openSQL(ctx context.Context, store, name string) (dsn string, db *gorm.DB, cleanup func(), err error) {
	cleanup = func() {}
	switch store {
	case "sqlite":
		dsn = filepath.Join(b.tmp, name+".db")
		for _, suffix := range []string{"", "-wal", "-shm"} {
			_ = os.Remove(dsn + suffix)
		}
		db, err = gormsqlite.Open(dsn)
	case "postgres":
		var drop func()
		dsn, drop, err = pgSchema(ctx, b.opts.postgres, b.prefix+name)
		if err != nil {
			return "", nil, nil, err
		}
		cleanup = drop
		db, err = gormpostgres.Open(dsn)
	default:
		return "", nil, nil, fmt.Errorf("store %q is not an SQL store", store)
	}
	if err != nil {
		cleanup()
		return "", nil, nil, err
	}
	closeDB := func() {
		if sqlDB, err := db.DB(); err == nil {
			_ = sqlDB.Close()
		}
	}
	if err := gormadapter.Migrate(ctx, db); err != nil {
		closeDB()
		cleanup()
		return "", nil, nil, err
	}
	drop := cleanup
	cleanup = func() { closeDB(); drop() }
	return dsn, db, cleanup, nil
}

// pgApp is the application_name of the PostgreSQL connections of a
// configuration whose schema openSQL named name, "" when the store keeps
// nothing in PostgreSQL.
func (b *bench) pgApp(store, name string) string {
	if sqlStore(store) != "postgres" {
		return ""
	}
	return b.prefix + name
}

// sqlCounters sets the site's row counter and filler on db.
func sqlCounters(s *site, db *gorm.DB) error {
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	s.writes = func(ctx context.Context) (int64, error) { return rowWrites(ctx, sqlDB) }
	s.fill = func(ctx context.Context, regs, states int) error {
		return fill(ctx, sqlDB, db.Dialector.Name(), regs, states)
	}
	s.sqlDB = sqlDB
	return nil
}

// startInProcess serves the library's own handlers (launch.Tool's login
// and launch handlers on a net/http mux, no framework) from this process,
// on the store named.
func (b *bench) startInProcess(ctx context.Context, store string) (*site, error) {
	s := &site{target: "in-process", store: store}
	var adapter storage.Adapter
	var cleanup func() // set by every store that succeeds
	reg, dep := b.platform.Registration(), b.platform.Deployment()
	switch store {
	case "memory":
		m, stop, err := memoryStore(reg, dep)
		if err != nil {
			return nil, err
		}
		adapter, cleanup = m, stop
	case "sqlite", "postgres", "redis":
		_, db, done, err := b.openSQL(ctx, sqlStore(store), "inprocess_"+store)
		if err != nil {
			return nil, err
		}
		s.pgApp = b.pgApp(store, "inprocess_"+store)
		cleanup = done
		if err := registerSQL(ctx, db, reg, dep); err != nil {
			done()
			return nil, err
		}
		a, err := gormadapter.New(ctx, db)
		if err != nil {
			done()
			return nil, err
		}
		if err := sqlCounters(s, db); err != nil {
			done()
			return nil, err
		}
		adapter = a
		if store == "redis" {
			combined, stop, err := b.redisAdapter(ctx, a)
			if err != nil {
				done()
				return nil, err
			}
			adapter, cleanup = combined, func() { stop(); done() }
		}
	default:
		return nil, fmt.Errorf("unknown store %q", store)
	}
	base, stop, err := serveHandlers(withLookupCache(adapter, b.opts.lookupCache), "server", "")
	if err != nil {
		cleanup()
		return nil, err
	}
	s.loginURL, s.targetLink = base+"/lti/login", base+"/lti/launch"
	s.close = func() error {
		err := stop()
		cleanup()
		return err
	}
	return s, nil
}

// memoryStore is a memory adapter holding the platform's registration.
func memoryStore(reg registration.Registration, dep deployment.Deployment) (*memory.Store, func(), error) {
	m := memory.New()
	if err := m.AddRegistration(reg); err != nil {
		return nil, nil, err
	}
	if err := m.AddDeployment(reg.Key(), dep); err != nil {
		return nil, nil, err
	}
	return m, m.StartSweeper(time.Minute), nil
}

// registerSQL stores the platform's registration and deployment in the
// GORM adapter's default models.
func registerSQL(ctx context.Context, db *gorm.DB, reg registration.Registration, dep deployment.Deployment) error {
	row := gormadapter.NewRegistration(reg)
	if err := db.WithContext(ctx).Create(row).Error; err != nil {
		return err
	}
	return db.WithContext(ctx).Create(&gormadapter.Deployment{RegistrationID: row.ID, DeploymentID: dep.DeploymentID}).Error
}

// serveHandlers serves a launch.Tool on adapter at a new port of
// 127.0.0.1 and returns the base URL it listens on. The tool's BaseURL is
// baseURL, or that address when baseURL is empty (the nodes of a
// scale-out target share one). Every goroutine the server starts
// inherits the pprof label role, so a CPU profile tells the server's
// samples from the load generator's. /ltibench/stats answers the
// process's allocation counters.
func serveHandlers(adapter storage.Adapter, role, baseURL string) (string, func() error, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	base := "http://" + ln.Addr().String()
	if baseURL == "" {
		baseURL = base
	}
	tool, err := launch.New(launch.Config{Storage: adapter, BaseURL: baseURL},
		launch.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		ln.Close()
		return "", nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/lti/login", tool.LoginHandler())
	mux.Handle("/lti/launch", tool.LaunchHandler(http.HandlerFunc(launchPage)))
	mux.HandleFunc("/ltibench/stats", serveStats)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: 64 << 10}
	go pprof.Do(context.Background(), pprof.Labels("role", role), func(context.Context) { _ = srv.Serve(ln) })
	stop := func() error {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	}
	return base, stop, nil
}

// memStats are the allocation counters /ltibench/stats answers.
type memStats struct {
	Mallocs    uint64 `json:"mallocs"`
	TotalAlloc uint64 `json:"total_alloc"`
}

func serveStats(w http.ResponseWriter, _ *http.Request) {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(memStats{Mallocs: m.Mallocs, TotalAlloc: m.TotalAlloc})
}

// childEnv carries the configuration of an own-process server to the
// child process (ltibench itself, started again).
const childEnv = "LTIBENCH_SERVE"

// childConfig is what the child needs: the store and the platform.
type childConfig struct {
	Store string `json:"store"`
	DSN   string `json:"dsn,omitempty"`
	// RedisURL and RedisPrefix are the redis store's Redis and key prefix.
	RedisURL    string `json:"redis_url,omitempty"`
	RedisPrefix string `json:"redis_prefix,omitempty"`
	// BaseURL is the tool's base URL when it is not the address the child
	// listens on: the front of a scale-out target's nodes.
	BaseURL       string        `json:"base_url,omitempty"`
	Issuer        string        `json:"issuer"`
	ClientID      string        `json:"client_id"`
	AuthEndpoint  string        `json:"auth_endpoint"`
	TokenEndpoint string        `json:"token_endpoint"`
	KeySetURL     string        `json:"key_set_url"`
	DeploymentID  string        `json:"deployment_id"`
	LookupCache   time.Duration `json:"lookup_cache,omitempty"`
	// CPUProfile is a file for the child's CPU profile (-profiles), from
	// its start to its SIGTERM.
	CPUProfile string `json:"cpu_profile,omitempty"`
}

// withLookupCache wraps a in storage.CacheLookups when ttl is positive.
func withLookupCache(a storage.Adapter, ttl time.Duration) storage.Adapter {
	if ttl <= 0 {
		return a
	}
	return storage.CacheLookups(a, storage.CacheConfig{TTL: ttl})
}

// serveChild is the own-process server: the library's handlers, as in
// process, in a process of their own so that /proc measures them alone.
// It prints its base URL and serves until SIGTERM.
func serveChild(cfgJSON string, stdout, stderr io.Writer) int {
	var c childConfig
	if err := json.Unmarshal([]byte(cfgJSON), &c); err != nil {
		fmt.Fprintf(stderr, "ltibench server: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if c.CPUProfile != "" {
		f, err := os.Create(c.CPUProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintf(stderr, "ltibench server: CPU profile: %v\n", err)
			return 1
		}
		defer func() {
			pprof.StopCPUProfile()
			if err := f.Close(); err != nil {
				fmt.Fprintf(stderr, "ltibench server: CPU profile: %v\n", err)
			}
		}()
	}
	reg := registration.Registration{Issuer: c.Issuer, ClientID: c.ClientID, AuthEndpoint: c.AuthEndpoint,
		TokenEndpoint: c.TokenEndpoint, KeySetURL: c.KeySetURL}
	var adapter storage.Adapter
	switch c.Store {
	case "memory":
		m, stopSweep, err := memoryStore(reg, deployment.Deployment{DeploymentID: c.DeploymentID})
		if err != nil {
			fmt.Fprintf(stderr, "ltibench server: %v\n", err)
			return 1
		}
		defer stopSweep()
		adapter = m
	case "sqlite", "postgres", "redis":
		var db *gorm.DB
		var err error
		if c.Store == "sqlite" {
			db, err = gormsqlite.Open(c.DSN)
		} else {
			db, err = gormpostgres.Open(c.DSN)
		}
		var sqlAdapter *gormadapter.Adapter
		if err == nil {
			sqlAdapter, err = gormadapter.New(ctx, db)
			adapter = sqlAdapter
		}
		if err == nil && c.Store == "redis" {
			var stopRedis func()
			adapter, stopRedis, err = childRedis(ctx, sqlAdapter, c.RedisURL, c.RedisPrefix)
			if err == nil {
				defer stopRedis()
			}
		}
		if err != nil {
			fmt.Fprintf(stderr, "ltibench server: %v\n", err)
			return 1
		}
	default:
		fmt.Fprintf(stderr, "ltibench server: unknown store %q\n", c.Store)
		return 2
	}
	base, stopServer, err := serveHandlers(withLookupCache(adapter, c.LookupCache), "server", c.BaseURL)
	if err != nil {
		fmt.Fprintf(stderr, "ltibench server: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "ltibench server listening on %s\n", base)
	<-ctx.Done()
	if err := stopServer(); err != nil {
		return 1
	}
	return 0
}

// startOwnProcess runs the library's handlers as in process, but in a
// child process (this binary again), measured from /proc like demo-tool,
// with the child's own allocation counters: a cross-check of the
// in-process attribution, and the handlers' cost without a framework.
// With nodes > 1 (the own-process-2 target) it starts that many children
// on one store, all configured with one base URL (see site.nodes).
func (b *bench) startOwnProcess(ctx context.Context, target, store string, nodes int) (*site, error) {
	p := b.platform
	reg, dep := p.Registration(), p.Deployment()
	cfg := childConfig{Store: store, Issuer: reg.Issuer, ClientID: reg.ClientID, AuthEndpoint: reg.AuthEndpoint,
		TokenEndpoint: p.TokenEndpoint(), KeySetURL: reg.KeySetURL, DeploymentID: dep.DeploymentID,
		LookupCache: b.opts.lookupCache}
	name := strings.ReplaceAll(target, "-", "")
	s := &site{target: target, store: store}
	cleanup := func() {}
	if store != "memory" {
		dsn, db, done, err := b.openSQL(ctx, sqlStore(store), name+"_"+store)
		if err != nil {
			return nil, err
		}
		s.pgApp = b.pgApp(store, name+"_"+store)
		cleanup = done
		if err := registerSQL(ctx, db, reg, dep); err != nil {
			done()
			return nil, err
		}
		if err := sqlCounters(s, db); err != nil {
			done()
			return nil, err
		}
		cfg.DSN = dsn
	}
	if store == "redis" {
		_, prefix, stop, err := b.openRedis(ctx, name)
		if err != nil {
			cleanup()
			return nil, err
		}
		dropSQL := cleanup
		cleanup = func() { stop(); dropSQL() }
		cfg.RedisURL, cfg.RedisPrefix = b.opts.redis, prefix
	}
	if nodes > 1 {
		// The nodes' common base URL: a port of 127.0.0.1 nobody serves,
		// only ever rewritten to a node's (site.onNode).
		port, err := freePort()
		if err != nil {
			cleanup()
			return nil, err
		}
		cfg.BaseURL = "http://127.0.0.1:" + strconv.Itoa(port)
		s.front = cfg.BaseURL
	}
	exe, err := os.Executable()
	if err != nil {
		cleanup()
		return nil, err
	}
	var bases []string
	for i := range max(nodes, 1) {
		if b.opts.profileDir != "" {
			cfg.CPUProfile = b.childProfile(s, i+1)
		}
		js, _ := json.Marshal(cfg)
		cmd := exec.Command(exe)
		cmd.Env = append(cleanEnv(), childEnv+"="+string(js))
		c, err := startChild(s, cmd, cleanup)
		if err != nil {
			if s.close != nil {
				s.close()
			}
			return nil, err
		}
		cleanup = func() {} // the first child's close runs it
		const ready = "ltibench server listening on "
		if err := c.waitLog(ctx, ready, 60*time.Second); err != nil {
			s.close()
			return nil, fmt.Errorf("own-process server %d: %w", i+1, err)
		}
		line := c.logs.String()
		line = line[strings.Index(line, ready)+len(ready):]
		base, _, _ := strings.Cut(line, "\n")
		bases = append(bases, strings.TrimSpace(base))
	}
	if nodes > 1 {
		s.nodes = bases
		s.loginURL, s.targetLink = s.front+"/lti/login", s.front+"/lti/launch"
	} else {
		s.loginURL, s.targetLink = bases[0]+"/lti/login", bases[0]+"/lti/launch"
	}
	s.stats = func(ctx context.Context) (memStats, error) {
		var sum memStats
		for _, base := range bases {
			m, err := readStats(ctx, base)
			if err != nil {
				return sum, err
			}
			sum.Mallocs += m.Mallocs
			sum.TotalAlloc += m.TotalAlloc
		}
		return sum, nil
	}
	return s, nil
}

// readStats reads an own-process server's /ltibench/stats.
func readStats(ctx context.Context, base string) (memStats, error) {
	var m memStats
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/ltibench/stats", nil)
	if err != nil {
		return m, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return m, err
	}
	defer resp.Body.Close()
	return m, json.NewDecoder(resp.Body).Decode(&m)
}

// launchPage is what the in-process tool shows after a launch: a small
// page from the typed claims, as an application's first page would.
func launchPage(w http.ResponseWriter, r *http.Request) {
	lc, ok := launch.FromContext(r.Context())
	if !ok {
		http.Error(w, "no launch", http.StatusInternalServerError)
		return
	}
	title := ""
	if lc.Claims.Context != nil {
		title = lc.Claims.Context.Title
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = io.WriteString(w, "<!doctype html><html><head><meta charset=\"utf-8\"><title>launch</title></head><body><p>hello "+
		html.EscapeString(lc.Claims.Name)+" ("+html.EscapeString(lc.Subject())+"), deployment "+
		html.EscapeString(lc.DeploymentID())+", context "+html.EscapeString(title)+
		", instructor "+strconv.FormatBool(lc.Roles().IsInstructor())+"</p></body></html>\n")
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// logFile is a server process's log: written by the process, its tail
// shown when launches fail.
type logFile struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logFile) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buf.Len() > 1<<20 {
		b := l.buf.Bytes()
		keep := append([]byte(nil), b[len(b)-64<<10:]...)
		l.buf.Reset()
		l.buf.Write(keep)
	}
	return l.buf.Write(p)
}

func (l *logFile) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logFile) tail(n int) string {
	s := l.String()
	if len(s) > n {
		s = s[len(s)-n:]
	}
	return s
}

// demoToolBinary returns the demo-tool binary: -demo-tool, or one built
// with go build into the temporary directory.
func (b *bench) demoToolBinary(ctx context.Context) (string, error) {
	if b.opts.demoTool != "" {
		return b.opts.demoTool, nil
	}
	if b.demoBin != "" {
		return b.demoBin, nil
	}
	bin := filepath.Join(b.tmp, "demo-tool")
	fmt.Fprintf(b.progress, "building demo-tool (go build github.com/ltikit/ltikit/cmd/demo-tool)\n")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/ltikit/ltikit/cmd/demo-tool")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build demo-tool: %v: %s", err, out)
	}
	b.demoBin = bin
	return bin, nil
}

// startDemoTool registers the platform with demo-tool platform add and
// runs demo-tool serve on the store named, as an operator would.
func (b *bench) startDemoTool(ctx context.Context, store string) (*site, error) {
	if store == "memory" {
		return nil, errors.New("demo-tool keeps its data in SQLite or PostgreSQL only")
	}
	bin, err := b.demoToolBinary(ctx)
	if err != nil {
		return nil, err
	}
	dsn, db, cleanup, err := b.openSQL(ctx, sqlStore(store), "demotool_"+store)
	if err != nil {
		return nil, err
	}
	var env []string // LTIKIT_STATE_STORE: the URL may hold a password
	if store == "redis" {
		stateStore, stop, err := b.demoToolStateStore(ctx)
		if err != nil {
			cleanup()
			return nil, err
		}
		env = append(env, "LTIKIT_STATE_STORE="+stateStore)
		dropSQL := cleanup
		cleanup = func() { stop(); dropSQL() }
	}
	port, err := freePort()
	if err != nil {
		cleanup()
		return nil, err
	}
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	p := b.platform
	reg := p.Registration()
	add := exec.CommandContext(ctx, bin, "platform", "add", "--issuer", reg.Issuer, "--client-id", reg.ClientID,
		"--auth-url", reg.AuthEndpoint, "--jwks-url", reg.KeySetURL, "--token-url", p.TokenEndpoint(),
		"--deployment", p.DeploymentID(), "--db", dsn)
	add.Env = cleanEnv()
	if out, err := add.CombinedOutput(); err != nil {
		cleanup()
		return nil, fmt.Errorf("demo-tool platform add: %v: %s", err, out)
	}
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:"+strconv.Itoa(port), "--base-url", base, "--db", dsn,
		"--lookup-cache", b.opts.lookupCache.String())
	cmd.Env = append(cleanEnv(), env...)
	s := &site{target: "demo-tool", store: store, loginURL: base + "/lti/login", targetLink: base + "/lti/launch",
		pgApp: b.pgApp(store, "demotool_"+store)}
	c, err := startChild(s, cmd, cleanup)
	if err != nil {
		return nil, err
	}
	if err := sqlCounters(s, db); err != nil {
		s.close()
		return nil, err
	}
	if err := c.waitHTTP(ctx, base+"/healthz", 60*time.Second); err != nil {
		s.close()
		return nil, fmt.Errorf("demo-tool: %w", err)
	}
	return s, nil
}

// cleanEnv is the environment for a child process without the LTIKIT_
// variables, so only the flags configure demo-tool.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LTIKIT_") {
			env = append(env, kv)
		}
	}
	return env
}

// child is a server process ltibench started and measures.
type child struct {
	cmd    *exec.Cmd
	logs   *logFile
	exited chan error // receives cmd.Wait's result once
}

// startChild starts cmd with its output kept in a log, and adds it to the
// site's pids, logTail and close: close stops the process (SIGTERM, then
// SIGKILL after 15 s), then the site's processes started before it, then
// runs cleanup. A start that fails runs cleanup at once.
func startChild(s *site, cmd *exec.Cmd, cleanup func()) (*child, error) {
	c := &child{cmd: cmd, logs: &logFile{}, exited: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = c.logs, c.logs
	if err := cmd.Start(); err != nil {
		cleanup()
		return nil, err
	}
	go func() { c.exited <- cmd.Wait() }()
	s.pids = append(s.pids, cmd.Process.Pid)
	prevTail, prevClose := s.logTail, s.close
	s.logTail = func() string {
		t := c.logs.tail(2000)
		if prevTail != nil {
			t = prevTail() + "\n" + t
		}
		return t
	}
	s.close = func() error {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-c.exited:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-c.exited
		}
		var err error
		if prevClose != nil {
			err = prevClose()
		}
		cleanup()
		return err
	}
	return c, nil
}

// waitLog waits until the child's output contains marker, the child exits,
// ctx ends or limit passes.
func (c *child) waitLog(ctx context.Context, marker string, limit time.Duration) error {
	return c.wait(ctx, limit, 20*time.Millisecond, func() bool { return strings.Contains(c.logs.String(), marker) })
}

// waitHTTP polls url until it answers 2xx, the child exits, ctx ends or
// limit passes.
func (c *child) waitHTTP(ctx context.Context, url string, limit time.Duration) error {
	client := &http.Client{Timeout: 2 * time.Second}
	return c.wait(ctx, limit, 100*time.Millisecond, func() bool {
		resp, err := client.Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode < 300
	})
}

func (c *child) wait(ctx context.Context, limit, poll time.Duration, ready func() bool) error {
	deadline := time.Now().Add(limit)
	for !ready() {
		select {
		case err := <-c.exited:
			c.exited <- err // for close
			return fmt.Errorf("exited (%v) before it was ready: %s", err, c.logs.tail(2000))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(poll):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %s: %s", limit, c.logs.tail(2000))
		}
	}
	return nil
}

// startLTIJS runs the ltijs peer (bench/peers/ltijs) with node on the same
// PostgreSQL, registered against the same platform.
func (b *bench) startLTIJS(ctx context.Context, store string) (*site, error) {
	if store != "postgres" {
		return nil, errors.New("the ltijs peer runs on PostgreSQL only (ltijs-sequelize)")
	}
	dir := b.opts.ltijsDir
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "ltijs")); err != nil {
		return nil, fmt.Errorf("ltijs peer: %s has no node_modules/ltijs: run npm install there (npm ci) first", dir)
	}
	// ltijs-sequelize's migrations name the public schema, so the peer
	// gets a database of its own on the same server.
	dbURL, drop, err := pgDatabase(ctx, b.opts.postgres, b.prefix+"ltijs")
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		drop()
		return nil, err
	}
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	p := b.platform
	cmd := exec.Command(b.opts.node, "index.js")
	cmd.Dir = dir
	cmd.Env = append(cleanEnv(),
		"PORT="+strconv.Itoa(port),
		"LTIJS_DB="+dbURL,
		"LTIJS_KEY=ltibench-"+strconv.FormatInt(time.Now().UnixNano(), 36),
		"PLATFORM_URL="+p.Issuer(),
		"PLATFORM_CLIENT_ID="+p.ClientID(),
		"PLATFORM_AUTH_URL="+p.AuthEndpoint(),
		"PLATFORM_TOKEN_URL="+p.TokenEndpoint(),
		"PLATFORM_JWKS_URL="+p.KeySetURL(),
		"NODE_ENV=production",
	)
	s := &site{target: "ltijs", store: store, loginURL: base + "/login", targetLink: base + "/", follow: true,
		pgDB: b.prefix + "ltijs"}
	c, err := startChild(s, cmd, drop)
	if err != nil {
		return nil, fmt.Errorf("ltijs peer: %w", err)
	}
	if err := c.waitLog(ctx, "ltijs peer listening", 90*time.Second); err != nil {
		s.close()
		return nil, fmt.Errorf("ltijs peer: %w", err)
	}
	return s, nil
}
