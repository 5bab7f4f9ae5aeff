//go:build !linux

package main

import "errors"

// pinning is -pin's placement of the processes on the CPUs; it needs
// Linux's per-thread CPU affinity and /proc.
type pinning struct {
	genCPU, toolCPU int
	topo            topology
}

func newPinning() (*pinning, error) {
	return nil, errors.New("-pin needs Linux (sched_setaffinity and /proc)")
}

func (p *pinning) generator() error           { return nil }
func (p *pinning) tool(int) error             { return nil }
func (p *pinning) store(string, string) error { return nil }
func (p *pinning) note(string)                {}
func (p *pinning) forget(int)                 {}
func (p *pinning) resweep() error             { return nil }
func (p *pinning) restore() error             { return nil }
func localURL(string) bool                    { return false }
