package main

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTick is the unit of utime and stime in /proc/<pid>/stat
// (sysconf(_SC_CLK_TCK), 100 on Linux).
const clockTick = 10 * time.Millisecond

// procCPU returns the user and system CPU time of process pid, its
// threads included, from /proc/<pid>/stat.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, err
	}
	return parseStatCPU(string(b))
}

// parseStatCPU reads utime and stime (fields 14 and 15) of a stat line.
func parseStatCPU(line string) (time.Duration, error) {
	st, err := parseStat(line)
	return st.own, err
}

// procStat is what ltibench reads of a /proc/<pid>/stat line.
type procStat struct {
	comm string
	ppid int
	// own is utime + stime: the process's CPU, its threads included.
	own time.Duration
	// reaped is cutime + cstime: the CPU of the children it has waited
	// for (a PostgreSQL backend that exited, reaped by the postmaster).
	reaped time.Duration
}

// parseStat reads a stat line. The command name (field 2) may hold spaces
// and parentheses, so fields are counted from the last ')'.
func parseStat(line string) (procStat, error) {
	var st procStat
	open, end := strings.IndexByte(line, '('), strings.LastIndexByte(line, ')')
	if open < 0 || end < open {
		return st, strconv.ErrSyntax
	}
	st.comm = line[open+1 : end]
	f := strings.Fields(line[end+1:])
	// f[0] is field 3 (state), f[1] the parent; utime is field 14, stime
	// 15, cutime 16, cstime 17.
	if len(f) < 15 {
		return st, strconv.ErrSyntax
	}
	var v [5]int64
	for i, k := range []int{1, 11, 12, 13, 14} {
		n, err := strconv.ParseInt(f[k], 10, 64)
		if err != nil {
			return st, strconv.ErrSyntax
		}
		v[i] = n
	}
	st.ppid = int(v[0])
	st.own = time.Duration(v[1]+v[2]) * clockTick
	st.reaped = time.Duration(v[3]+v[4]) * clockTick
	return st, nil
}

// selfCPU is this process's user and system CPU time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procEntry is one process of the process table.
type procEntry struct {
	pid int
	procStat
}

// processTable reads every process's stat line.
func processTable() []procEntry {
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []procEntry
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", d.Name(), "stat"))
		if err != nil {
			continue
		}
		if st, err := parseStat(string(b)); err == nil {
			out = append(out, procEntry{pid: pid, procStat: st})
		}
	}
	return out
}

// descendants lists every process below pid.
func descendants(pid int) []int {
	return descendantsIn(processTable(), pid)
}

func descendantsIn(table []procEntry, pid int) []int {
	children := map[int][]int{}
	for _, e := range table {
		children[e.ppid] = append(children[e.ppid], e.pid)
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		c := children[queue[0]]
		queue = queue[1:]
		out = append(out, c...)
		queue = append(queue, c...)
	}
	return out
}

// commandRoots lists the processes whose command name starts with command
// and whose parent's does not: PostgreSQL's postmaster (its backends and
// workers below it), redis-server.
func commandRoots(command string) []int {
	return rootsIn(processTable(), command)
}

func rootsIn(table []procEntry, command string) []int {
	comm := make(map[int]string, len(table))
	for _, e := range table {
		comm[e.pid] = e.comm
	}
	var roots []int
	for _, e := range table {
		if strings.HasPrefix(e.comm, command) && !strings.HasPrefix(comm[e.ppid], command) {
			roots = append(roots, e.pid)
		}
	}
	slices.Sort(roots)
	return roots
}

// serverCPU is the CPU time a store's server has spent so far, summed
// over each process tree rooted at a process named command (see
// commandRoots): every live process's own CPU and the CPU of the children
// it has reaped. A PostgreSQL backend that exits between two readings is
// then still counted (its time moves into the postmaster's cutime), so
// the total only grows, where a sum over the live processes alone could
// fall. ok is false when no such process runs on this machine. The figure
// includes every session's work on that server, not only the tool's.
func serverCPU(command string) (total time.Duration, ok bool) {
	table := processTable()
	byPID := make(map[int]procStat, len(table))
	for _, e := range table {
		byPID[e.pid] = e.procStat
	}
	for _, r := range rootsIn(table, command) {
		ok = true
		for _, pid := range append([]int{r}, descendantsIn(table, r)...) {
			st := byPID[pid]
			total += st.own + st.reaped
		}
	}
	return total, ok
}

// cpuSince is the CPU a store's server spent since a reading of serverCPU:
// -1 when it could not be read, and never below 0 (clock-tick counters read
// at slightly different moments can step back by a tick).
func cpuSince(command string, before time.Duration, hadBefore bool) time.Duration {
	after, ok := serverCPU(command)
	if !ok || !hadBefore {
		return -1
	}
	return max(after-before, 0)
}
