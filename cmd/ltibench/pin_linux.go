package main

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// pinning is -pin's placement of the processes on the CPUs: the load
// generator (this process, every thread) on one CPU, the tools under test
// and their stores on another. On Linux a CPU affinity belongs to a thread
// and a new thread or process inherits its creator's, so every thread of a
// process is moved, and what a moved process starts later (a PostgreSQL
// backend forked by the postmaster, a Go runtime thread) lands on the same
// CPU by itself. Every mask changed is recorded and restore puts it back:
// threads that were born pinned get their root process's original mask.
type pinning struct {
	genCPU, toolCPU int

	mu sync.Mutex
	// saved is the original mask of every thread this pinning changed.
	saved map[int]unix.CPUSet
	// roots are the process trees moved, with the mask their root had
	// before, for the threads and processes born in them since.
	roots map[int]unix.CPUSet
	// rootCPU is where each root was moved, to re-sweep its tree.
	rootCPU map[int]int
	// threadsOnly marks roots moved without their child processes: this
	// process, whose children are the servers, placed elsewhere.
	threadsOnly map[int]bool
	// defaultProcs: GOMAXPROCS was the runtime's default (no GOMAXPROCS
	// variable), so restore goes back to it; else to prevProcs.
	defaultProcs bool
	prevProcs    int
	restored     bool

	topo topology
}

// newPinning checks that the process may use at least two CPUs and that
// the affinity calls work, and chooses the generator's and the tools' CPUs:
// the first two CPUs of this process's mask.
func newPinning() (*pinning, error) {
	var self unix.CPUSet
	if err := unix.SchedGetaffinity(0, &self); err != nil {
		return nil, fmt.Errorf("-pin: reading this process's CPU affinity: %w", err)
	}
	var cpus []int
	for c := 0; c < 1024 && len(cpus) < 2; c++ {
		if self.IsSet(c) {
			cpus = append(cpus, c)
		}
	}
	if len(cpus) < 2 {
		return nil, fmt.Errorf("-pin: this process may run on %d CPU (affinity mask), -pin needs 2: one for the load generator, one for the tool and its store", self.Count())
	}
	return &pinning{genCPU: cpus[0], toolCPU: cpus[1], saved: map[int]unix.CPUSet{}, roots: map[int]unix.CPUSet{},
		rootCPU: map[int]int{}, threadsOnly: map[int]bool{}, topo: topology{GeneratorCPU: cpus[0], ToolCPU: cpus[1]}}, nil
}

// generator moves this process, every thread, onto the generator's CPU and
// sets GOMAXPROCS to 1 to match.
func (p *pinning) generator() error {
	p.mu.Lock()
	p.threadsOnly[os.Getpid()] = true
	p.mu.Unlock()
	n, err := p.tree(os.Getpid(), p.genCPU, false)
	if err != nil {
		return fmt.Errorf("-pin: moving ltibench to CPU %d: %w", p.genCPU, err)
	}
	p.defaultProcs = os.Getenv("GOMAXPROCS") == ""
	p.prevProcs = runtime.GOMAXPROCS(1)
	p.note(fmt.Sprintf("CPU %d: the load generator (ltibench pid %d, %d threads, GOMAXPROCS 1; the platform's signing included)", p.genCPU, os.Getpid(), n))
	return nil
}

// tool moves the process tree rooted at pid, a server ltibench started,
// onto the tools' CPU. Its masks are not recorded: the server inherited
// the generator's CPU from this process and stops before the run ends
// (forget then drops it, so that a later process with its pid is never
// touched).
func (p *pinning) tool(pid int) error {
	if _, err := p.tree(pid, p.toolCPU, true); err != nil {
		return fmt.Errorf("-pin: moving pid %d to CPU %d: %w", pid, p.toolCPU, err)
	}
	return nil
}

// store moves every local server process named command (the root of each
// such tree: PostgreSQL's postmaster, redis-server) onto the tools' CPU.
// It fails when there is none: the store then runs elsewhere and -pin
// cannot place it.
func (p *pinning) store(command, what string) error {
	roots := commandRoots(command)
	if len(roots) == 0 {
		return fmt.Errorf("-pin: no %s process on this machine (%s must run here to be placed on a CPU)", command, what)
	}
	var parts []string
	for _, r := range roots {
		n, err := p.tree(r, p.toolCPU, false)
		if err != nil {
			return fmt.Errorf("-pin: moving %s (pid %d) to CPU %d: %w", command, r, p.toolCPU, err)
		}
		parts = append(parts, fmt.Sprintf("pid %d, %d threads in %d processes", r, n, len(descendants(r))+1))
	}
	p.note(fmt.Sprintf("CPU %d: %s (%s; processes it starts later inherit the CPU)", p.toolCPU, what, strings.Join(parts, "; ")))
	return nil
}

// forget drops a server process tree that tool moved, once it has stopped.
func (p *pinning) forget(pid int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.rootCPU, pid)
}

// resweep moves again every thread of the trees moved so far that is not
// on its CPU: threads a process created while it was being moved.
func (p *pinning) resweep() error {
	p.mu.Lock()
	roots := make(map[int]int, len(p.rootCPU))
	for r, c := range p.rootCPU {
		roots[r] = c
	}
	p.mu.Unlock()
	var errs []error
	for r, c := range roots {
		p.mu.Lock()
		_, recorded := p.roots[r]
		p.mu.Unlock()
		if _, err := p.tree(r, c, !recorded); err != nil && !errors.Is(err, unix.ESRCH) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (p *pinning) note(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.topo.Placed = append(p.topo.Placed, s)
}

// tree moves every thread of root and of its descendants onto cpu and
// returns how many threads it moved or found there. It sweeps until a
// pass finds nothing new, so that a thread created during a pass is caught
// by the next. Unless ephemeral, it records each thread's original mask
// and the root's, for restore; an ephemeral root that has exited is not an
// error.
func (p *pinning) tree(root, cpu int, ephemeral bool) (int, error) {
	var want unix.CPUSet
	want.Set(cpu)
	p.mu.Lock()
	defer p.mu.Unlock()
	var orig unix.CPUSet
	if err := unix.SchedGetaffinity(root, &orig); err != nil {
		if ephemeral && errors.Is(err, unix.ESRCH) {
			return 0, nil
		}
		return 0, err
	}
	if _, ok := p.roots[root]; !ok && !ephemeral {
		p.roots[root] = orig
	}
	p.rootCPU[root] = cpu
	seen := map[int]bool{}
	for pass := 0; pass < 10; pass++ {
		moved := 0
		for _, pid := range p.members(root) {
			for _, tid := range tasks(pid) {
				if seen[tid] {
					continue
				}
				var cur unix.CPUSet
				if err := unix.SchedGetaffinity(tid, &cur); err != nil {
					if errors.Is(err, unix.ESRCH) {
						continue // the thread has exited
					}
					return len(seen), err
				}
				seen[tid] = true
				moved++
				if cur == want {
					continue
				}
				if _, ok := p.saved[tid]; !ok && !ephemeral {
					p.saved[tid] = cur
				}
				if err := unix.SchedSetaffinity(tid, &want); err != nil && !errors.Is(err, unix.ESRCH) {
					return len(seen), err
				}
			}
		}
		if moved == 0 {
			break
		}
	}
	return len(seen), nil
}

// restore puts back every mask this pinning changed, and gives the
// threads and processes born pinned in a moved tree their root's original
// mask. It runs once; later calls do nothing.
func (p *pinning) restore() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.restored {
		return nil
	}
	p.restored = true
	var errs []error
	set := func(tid int, m unix.CPUSet) {
		if err := unix.SchedSetaffinity(tid, &m); err != nil && !errors.Is(err, unix.ESRCH) {
			errs = append(errs, fmt.Errorf("restoring the CPU affinity of %d: %w", tid, err))
		}
	}
	for tid, m := range p.saved {
		set(tid, m)
	}
	for root, orig := range p.roots {
		for _, pid := range p.members(root) {
			for _, tid := range tasks(pid) {
				if _, ok := p.saved[tid]; !ok {
					set(tid, orig)
				}
			}
		}
	}
	if p.prevProcs > 0 {
		if p.defaultProcs {
			runtime.SetDefaultGOMAXPROCS()
		} else {
			runtime.GOMAXPROCS(p.prevProcs)
		}
	}
	return errors.Join(errs...)
}

// members lists the processes of root's tree: root and its descendants,
// or root alone when it was moved without its children.
func (p *pinning) members(root int) []int {
	if p.threadsOnly[root] {
		return []int{root}
	}
	return append([]int{root}, descendants(root)...)
}

// tasks lists the thread ids of process pid (none once it has exited).
func tasks(pid int) []int {
	ents, err := os.ReadDir(filepath.Join("/proc", strconv.Itoa(pid), "task"))
	if err != nil {
		return nil
	}
	out := make([]int, 0, len(ents))
	for _, e := range ents {
		if tid, err := strconv.Atoi(e.Name()); err == nil {
			out = append(out, tid)
		}
	}
	return out
}

// localURL reports whether a database URL names this machine (a loopback
// address, localhost or a Unix socket), where -pin can place its server.
func localURL(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	h := u.Hostname()
	if h == "" {
		h = u.Query().Get("host") // libpq style: a socket directory or a host
	}
	return h == "" || strings.HasPrefix(h, "/") || h == "localhost" || strings.HasPrefix(h, "127.") || h == "::1"
}
