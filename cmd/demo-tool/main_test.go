package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binary is the demo-tool binary TestMain builds for the tests that run
// the real program.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "demo-tool-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary, err = buildBinary(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "building demo-tool:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	browser.Close()
	os.RemoveAll(dir)
	os.Exit(code)
}

// buildBinary builds demo-tool and returns its path. `go run -exec echo .`
// builds it as `go build` does and, since Go 1.24, keeps the linked
// program in the Go build cache and prints its path there, so that a run
// with a warm cache skips the link (some 4 CPU-seconds, every run, when
// the program was linked into a fresh directory with go build -o). The
// cached program is only read, never written, by the tests. On a cold
// cache go run prints the path of a temporary copy, gone once it exits:
// the second call finds the cached one. Should neither path stay, the
// program is built into dir as before.
func buildBinary(dir string) (string, error) {
	for range 2 {
		var out bytes.Buffer
		run := exec.Command("go", "run", "-exec", "echo", ".")
		run.Stdout, run.Stderr = &out, os.Stderr
		if err := run.Run(); err != nil {
			return "", fmt.Errorf("go run -exec echo: %w", err)
		}
		path := strings.TrimSpace(out.String())
		if st, err := os.Stat(path); err == nil && st.Mode().IsRegular() && filepath.IsAbs(path) {
			return path, nil
		}
	}
	path := filepath.Join(dir, "demo-tool")
	build := exec.Command("go", "build", "-o", path, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return "", fmt.Errorf("go build: %w", err)
	}
	return path, nil
}

// cleanEnv is the environment without LTIKIT_* variables, plus extra.
func cleanEnv(extra ...string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LTIKIT_") {
			out = append(out, kv)
		}
	}
	return append(out, extra...)
}

// cliResult is what one run of the binary printed and returned.
type cliResult struct {
	stdout, stderr string
	code           int
}

// runCLI runs the binary with args in dir, with the LTIKIT_* variables of
// env only.
func runCLI(t *testing.T, dir string, env []string, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Dir = dir
	cmd.Env = cleanEnv(env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := cliResult{stdout: stdout.String(), stderr: stderr.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		res.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running demo-tool %s: %v", strings.Join(args, " "), err)
	}
	return res
}

// mustCLI runs the binary and fails the test unless it exits 0.
func mustCLI(t *testing.T, dir string, args ...string) cliResult {
	t.Helper()
	res := runCLI(t, dir, nil, args...)
	if res.code != 0 {
		t.Fatalf("demo-tool %s: exit %d: %s", strings.Join(args, " "), res.code, res.stderr)
	}
	return res
}

// syncBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// node is one running demo-tool serve process.
type node struct {
	addr   string // host:port it listens on
	url    string // http://addr, to reach it directly
	stdout *syncBuffer
	logs   *syncBuffer // standard error: the structured logs
	stop   func()      // SIGTERM, then wait for a clean exit; idempotent
}

var listeningRe = regexp.MustCompile(`demo-tool listening on (\S+)`)

// startNode runs "demo-tool serve args..." in dir, waits until it answers
// /healthz, and stops it with SIGTERM at the end of the test, checking
// that it shuts down cleanly. Pass --addr 127.0.0.1:0 for a free port.
func startNode(t *testing.T, dir string, args ...string) *node {
	t.Helper()
	return startProcess(t, dir, nil, append([]string{"serve"}, args...)...)
}

// startProcess runs the binary with args and the LTIKIT_* variables of env
// as a server, like startNode.
func startProcess(t *testing.T, dir string, env []string, args ...string) *node {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	cmd.Env = cleanEnv(env...)
	n := &node{stdout: &syncBuffer{}, logs: &syncBuffer{}}
	cmd.Stderr = n.logs
	pr, pw := io.Pipe()
	cmd.Stdout = pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{}) // closed when the process has exited
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		pw.Close()
		close(done)
	}()
	addrCh := make(chan string, 1)
	go func() {
		// The address is reported once the whole startup text is printed.
		sc := bufio.NewScanner(pr)
		addr := ""
		for sc.Scan() {
			line := sc.Text()
			n.stdout.Write([]byte(line + "\n"))
			if m := listeningRe.FindStringSubmatch(line); m != nil {
				addr = m[1]
			}
			if strings.HasPrefix(line, "Press Ctrl-C") && addr != "" {
				addrCh <- addr
			}
		}
	}()
	var once sync.Once
	n.stop = func() {
		once.Do(func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-done:
				if waitErr != nil {
					t.Errorf("demo-tool did not exit cleanly on SIGTERM: %v\nlogs:\n%s", waitErr, n.logs.String())
				}
			case <-time.After(15 * time.Second):
				_ = cmd.Process.Kill()
				t.Errorf("demo-tool did not stop within 15 s of SIGTERM")
			}
			if t.Failed() {
				t.Logf("demo-tool %s logs:\n%s", n.addr, n.logs.String())
			}
		})
	}
	t.Cleanup(n.stop)
	select {
	case n.addr = <-addrCh:
	case <-done:
		t.Fatalf("demo-tool %s exited early: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), waitErr, n.stdout.String(), n.logs.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("demo-tool printed no address within 30 s\nstderr:\n%s", n.logs.String())
	}
	n.url = "http://" + n.addr
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(n.url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return n
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("demo-tool at %s is not healthy: %v", n.url, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
