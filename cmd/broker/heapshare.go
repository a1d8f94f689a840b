package main

import (
	"fmt"
	"math"
	"os"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"sort"
	"strings"
)

// modulePath is the broker's module: its packages are named without it.
const modulePath = "github.com/broker-dev/broker"

// pkgBytes is the Go heap in use attributed to one package.
type pkgBytes struct {
	pkg   string
	bytes uint64
}

// heapByPackage reads the runtime's heap profile (as of the last GC) and
// attributes each live allocation to a package: the innermost frame of a
// broker package (localaws, store/sqlstore, web/portal, …) on its stack,
// or, for stacks with none (the HTTP server's connections, the runtime),
// the innermost frame outside the runtime. The sampled figures are scaled
// as pprof scales them (MemProfileRate, 512 KiB by default), so they are
// estimates; sorted by bytes, largest first.
func heapByPackage() []pkgBytes {
	var recs []runtime.MemProfileRecord
	n, _ := runtime.MemProfile(nil, false)
	for {
		recs = make([]runtime.MemProfileRecord, n+64)
		var ok bool
		if n, ok = runtime.MemProfile(recs, false); ok {
			recs = recs[:n]
			break
		}
	}
	rate := float64(runtime.MemProfileRate)
	by := map[string]float64{}
	for i := range recs {
		r := &recs[i]
		objs, bytes := r.InUseObjects(), r.InUseBytes()
		if objs <= 0 || bytes <= 0 {
			continue
		}
		by[attributePackage(r.Stack())] += scaleHeap(float64(objs), float64(bytes), rate)
	}
	out := make([]pkgBytes, 0, len(by))
	for p, b := range by {
		out = append(out, pkgBytes{p, uint64(b)})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].bytes != out[j].bytes {
			return out[i].bytes > out[j].bytes
		}
		return out[i].pkg < out[j].pkg
	})
	return out
}

// scaleHeap undoes the heap profile's sampling (runtime/pprof's
// scaleHeapSample): an object of size s is sampled with probability
// 1-exp(-s/rate).
func scaleHeap(objs, bytes, rate float64) float64 {
	if rate <= 1 {
		return bytes
	}
	avg := bytes / objs
	return bytes / (1 - math.Exp(-avg/rate))
}

// attributePackage names the package a stack's allocation belongs to.
func attributePackage(stack []uintptr) string {
	frames := runtime.CallersFrames(stack)
	fallback := ""
	for {
		f, more := frames.Next()
		p := funcPackage(f.Function)
		switch {
		case p == modulePath:
			return "broker"
		case strings.HasPrefix(p, modulePath+"/"):
			return strings.TrimPrefix(p, modulePath+"/")
		case fallback == "" && p != "" && p != "runtime" && !strings.HasPrefix(p, "internal/") && !strings.HasPrefix(p, "runtime/"):
			fallback = p
		}
		if !more {
			break
		}
	}
	if fallback == "" {
		return "runtime"
	}
	return fallback
}

// funcPackage is the import path of a function's package:
// "github.com/x/y/z.(*T).M.func1" is "github.com/x/y/z".
func funcPackage(fn string) string {
	slash := strings.LastIndexByte(fn, '/')
	dot := strings.IndexByte(fn[slash+1:], '.')
	if dot < 0 {
		return fn
	}
	return fn[:slash+1+dot]
}

// heapShare formats the largest packages of heapByPackage: "localaws 12.0,
// net/http 3.1, … MiB", at most top of them.
func heapShare(ps []pkgBytes, top int) string {
	var b strings.Builder
	for i, p := range ps {
		if i == top {
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %.1f", p.pkg, float64(p.bytes)/(1<<20))
	}
	b.WriteString(" MiB")
	return b.String()
}

// writeHeapProfile writes the heap profile, as of a GC now, to path.
func writeHeapProfile(path string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	runtime.GC()
	if err := pprof.WriteHeapProfile(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// goMemory is the heap live after the last GC, and all the memory the Go
// runtime has mapped and not given back to the OS (heap, its free spans,
// stacks, metadata): what is left of RSS is outside Go (the SQLite
// library's C memory, the binary's pages).
func goMemory() (live, managed uint64) {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(s)
	for _, x := range s {
		if x.Value.Kind() != metrics.KindUint64 {
			return 0, 0
		}
	}
	total, released := s[1].Value.Uint64(), s[2].Value.Uint64()
	return s[0].Value.Uint64(), total - min(total, released)
}
