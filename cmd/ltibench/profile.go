package main

// In-process attribution. The load generator and the server share the
// process, so its CPU time and allocation counters hold both. The server's
// part is taken from the runtime's own profiles: a CPU profile whose
// samples carry the pprof label role=server on every goroutine the server
// starts (labels are inherited by the goroutines a labeled goroutine
// creates, so http.Server's connection goroutines carry it), and the allocs
// profile, whose stacks show net/http's server connection loop at their
// root. The profiles are read with a minimal protobuf reader (the format is
// github.com/google/pprof/proto/profile.proto); no dependency is needed.

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"runtime/pprof"
	"strings"
)

// profile is the part of a pprof profile ltibench reads.
type profile struct {
	sampleTypes []string // "alloc_objects", "cpu", …
	samples     []sample
	functions   map[uint64]string   // function id → name
	locations   map[uint64][]uint64 // location id → function ids, innermost first
	strings     []string
}

type sample struct {
	locations []uint64
	values    []int64
	labels    map[string]string
}

// parseProfile reads a (gzipped) pprof profile.
func parseProfile(data []byte) (*profile, error) {
	if len(data) >= 2 && data[0] == 0x1f && data[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, err
		}
		if data, err = io.ReadAll(zr); err != nil {
			return nil, err
		}
	}
	p := &profile{functions: map[uint64]string{}, locations: map[uint64][]uint64{}}
	type rawLabel struct{ key, str int64 }
	var (
		sampleTypeIdx []int64
		rawSamples    []struct {
			s      sample
			labels []rawLabel
		}
		funcNames = map[uint64]int64{}
	)
	err := eachField(data, func(num int, wire int, v uint64, b []byte) error {
		switch num {
		case 1: // sample_type
			var typ int64
			if err := eachField(b, func(n, _ int, v uint64, _ []byte) error {
				if n == 1 {
					typ = int64(v)
				}
				return nil
			}); err != nil {
				return err
			}
			sampleTypeIdx = append(sampleTypeIdx, typ)
		case 2: // sample
			var rs struct {
				s      sample
				labels []rawLabel
			}
			if err := eachField(b, func(n, w int, v uint64, b []byte) error {
				switch n {
				case 1:
					return appendVarints(&rs.s.locations, w, v, b)
				case 2:
					var vals []uint64
					if err := appendVarints(&vals, w, v, b); err != nil {
						return err
					}
					for _, x := range vals {
						rs.s.values = append(rs.s.values, int64(x))
					}
				case 3:
					var l rawLabel
					if err := eachField(b, func(n, _ int, v uint64, _ []byte) error {
						switch n {
						case 1:
							l.key = int64(v)
						case 2:
							l.str = int64(v)
						}
						return nil
					}); err != nil {
						return err
					}
					rs.labels = append(rs.labels, l)
				}
				return nil
			}); err != nil {
				return err
			}
			rawSamples = append(rawSamples, rs)
		case 4: // location
			var id uint64
			var funcs []uint64
			if err := eachField(b, func(n, _ int, v uint64, b []byte) error {
				switch n {
				case 1:
					id = v
				case 4: // line
					return eachField(b, func(n, _ int, v uint64, _ []byte) error {
						if n == 1 {
							funcs = append(funcs, v)
						}
						return nil
					})
				}
				return nil
			}); err != nil {
				return err
			}
			p.locations[id] = funcs
		case 5: // function
			var id uint64
			var name int64
			if err := eachField(b, func(n, _ int, v uint64, _ []byte) error {
				switch n {
				case 1:
					id = v
				case 2:
					name = int64(v)
				}
				return nil
			}); err != nil {
				return err
			}
			funcNames[id] = name
		case 6: // string_table
			p.strings = append(p.strings, string(b))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	str := func(i int64) string {
		if i < 0 || i >= int64(len(p.strings)) {
			return ""
		}
		return p.strings[i]
	}
	for _, i := range sampleTypeIdx {
		p.sampleTypes = append(p.sampleTypes, str(i))
	}
	for id, n := range funcNames {
		p.functions[id] = str(n)
	}
	for _, rs := range rawSamples {
		s := rs.s
		if len(rs.labels) > 0 {
			s.labels = map[string]string{}
			for _, l := range rs.labels {
				s.labels[str(l.key)] = str(l.str)
			}
		}
		p.samples = append(p.samples, s)
	}
	return p, nil
}

// index returns the position of the sample type named typ.
func (p *profile) index(typ string) int {
	for i, t := range p.sampleTypes {
		if t == typ {
			return i
		}
	}
	return -1
}

// hasFunc reports whether a function whose name has one of the prefixes is
// on the sample's stack.
func (p *profile) hasFunc(s sample, prefixes ...string) bool {
	for _, loc := range s.locations {
		for _, f := range p.locations[loc] {
			name := p.functions[f]
			for _, pre := range prefixes {
				if strings.HasPrefix(name, pre) {
					return true
				}
			}
		}
	}
	return false
}

// eachField calls f for each field of a protobuf message: its number, wire
// type, varint value (wire types 0, 1, 5) or bytes (wire type 2).
func eachField(b []byte, f func(num, wire int, v uint64, data []byte) error) error {
	for len(b) > 0 {
		key, n := uvarint(b)
		if n <= 0 {
			return errors.New("profile: bad field key")
		}
		b = b[n:]
		num, wire := int(key>>3), int(key&7)
		switch wire {
		case 0:
			v, n := uvarint(b)
			if n <= 0 {
				return errors.New("profile: bad varint")
			}
			b = b[n:]
			if err := f(num, wire, v, nil); err != nil {
				return err
			}
		case 1:
			if len(b) < 8 {
				return errors.New("profile: short fixed64")
			}
			var v uint64
			for i := 7; i >= 0; i-- {
				v = v<<8 | uint64(b[i])
			}
			b = b[8:]
			if err := f(num, wire, v, nil); err != nil {
				return err
			}
		case 2:
			l, n := uvarint(b)
			if n <= 0 || uint64(len(b)-n) < l {
				return errors.New("profile: bad length")
			}
			data := b[n : n+int(l)]
			b = b[n+int(l):]
			if err := f(num, wire, 0, data); err != nil {
				return err
			}
		case 5:
			if len(b) < 4 {
				return errors.New("profile: short fixed32")
			}
			v := uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24
			b = b[4:]
			if err := f(num, wire, v, nil); err != nil {
				return err
			}
		default:
			return fmt.Errorf("profile: wire type %d", wire)
		}
	}
	return nil
}

// appendVarints appends a repeated varint field, packed (wire type 2) or not.
func appendVarints(dst *[]uint64, wire int, v uint64, b []byte) error {
	if wire == 0 {
		*dst = append(*dst, v)
		return nil
	}
	for len(b) > 0 {
		x, n := uvarint(b)
		if n <= 0 {
			return errors.New("profile: bad packed varint")
		}
		*dst = append(*dst, x)
		b = b[n:]
	}
	return nil
}

func uvarint(b []byte) (uint64, int) {
	var x uint64
	var s uint
	for i, c := range b {
		if i == 10 {
			return 0, -1
		}
		if c < 0x80 {
			return x | uint64(c)<<s, i + 1
		}
		x |= uint64(c&0x7f) << s
		s += 7
	}
	return 0, 0
}

// serverRoots are the functions at the root of the server's goroutines: a
// stack that holds one is the server's work.
var serverRoots = []string{"net/http.(*conn).serve", "net/http.(*connReader).backgroundRead"}

// allocTotals are the allocations of a heap profile, split into the
// server's and the rest, already scaled by the profile writer.
type allocTotals struct {
	serverObjects, serverBytes int64
	otherObjects, otherBytes   int64
}

func (a allocTotals) sub(b allocTotals) allocTotals {
	return allocTotals{a.serverObjects - b.serverObjects, a.serverBytes - b.serverBytes,
		a.otherObjects - b.otherObjects, a.otherBytes - b.otherBytes}
}

// readAllocs reads the cumulative allocs profile and splits it by stack.
func readAllocs() (allocTotals, error) {
	var buf bytes.Buffer
	if err := pprof.Lookup("allocs").WriteTo(&buf, 0); err != nil {
		return allocTotals{}, err
	}
	p, err := parseProfile(buf.Bytes())
	if err != nil {
		return allocTotals{}, err
	}
	objs, bytesIdx := p.index("alloc_objects"), p.index("alloc_space")
	if objs < 0 || bytesIdx < 0 {
		return allocTotals{}, errors.New("allocs profile without alloc_objects or alloc_space")
	}
	var t allocTotals
	for _, s := range p.samples {
		if len(s.values) <= objs || len(s.values) <= bytesIdx {
			continue
		}
		if p.hasFunc(s, serverRoots...) {
			t.serverObjects += s.values[objs]
			t.serverBytes += s.values[bytesIdx]
		} else {
			t.otherObjects += s.values[objs]
			t.otherBytes += s.values[bytesIdx]
		}
	}
	return t, nil
}

// cpuShares splits a CPU profile's samples: labeled role=server, labeled
// with another role, and unlabeled (the runtime: GC workers, the
// scheduler, timers).
type cpuShares struct {
	server, client, unlabeled int64
}

func readCPUShares(data []byte) (cpuShares, error) {
	p, err := parseProfile(data)
	if err != nil {
		return cpuShares{}, err
	}
	idx := p.index("cpu")
	if idx < 0 {
		idx = len(p.sampleTypes) - 1
	}
	var c cpuShares
	for _, s := range p.samples {
		if idx < 0 || idx >= len(s.values) {
			continue
		}
		v := s.values[idx]
		switch s.labels["role"] {
		case "server":
			c.server += v
		case "":
			c.unlabeled += v
		default:
			c.client += v
		}
	}
	return c, nil
}

// serverFraction is the server's share of the process's CPU time: its
// labeled samples, plus the unlabeled runtime work (mostly garbage
// collection) in proportion to the bytes the server allocated.
func (c cpuShares) serverFraction(serverBytesShare float64) float64 {
	total := c.server + c.client + c.unlabeled
	if total == 0 {
		return 0
	}
	return (float64(c.server) + float64(c.unlabeled)*serverBytesShare) / float64(total)
}
