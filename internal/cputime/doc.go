// Package cputime measures the process's CPU time for benchmarks, and
// reports it per operation as cpu-ns/op. On a machine shared with other
// work, wall time (ns/op) includes the time a benchmark waited for a CPU;
// CPU time (user and system, every thread, the garbage collector's
// included) counts only the work done, so it compares two builds far more
// steadily. It is a package because the benchmarks of the launch pipeline,
// the GORM adapter and the database/sql example all report it.
package cputime
