package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/google/pprof/profile"

	"github.com/broker-dev/broker/devstack"
)

// componentDriver labels the load driver's goroutines (its HTTP client,
// and the demo IdP's response signing it does itself, labelled
// stepSign too); the servers are labelled by devstack.
const (
	componentDriver = "driver"
	stepLabel       = "step"
	stepSign        = "sign"
)

// cpuMeter profiles the process's CPU over the timed part of a load
// test: a CPU profile (runtime/pprof, 100 Hz) whose samples carry the
// component labels, and the process's utime+stime (/proc/self/stat) over
// the same interval to check the profile against.
type cpuMeter struct {
	buf     bytes.Buffer
	ticks   int64 // utime+stime at the start, in clock ticks; -1 off Linux
	started time.Time
}

func startCPU() (*cpuMeter, error) {
	m := &cpuMeter{ticks: procTicks(), started: time.Now()}
	if err := pprof.StartCPUProfile(&m.buf); err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return m, nil
}

// cpuReport is the CPU the process spent during the profile, by
// component (ComponentLabel values; "" is unlabelled: the runtime's GC
// workers, timers, and goroutines started by none of the labelled ones).
type cpuReport struct {
	byComponent map[string]time.Duration
	sign        time.Duration // the driver's response signing (stepSign)
	samples     int64
	total       time.Duration // all samples
	process     time.Duration // utime+stime over the interval; -1 unknown
	raw         []byte
}

func (m *cpuMeter) stop() (*cpuReport, error) {
	if m == nil {
		return nil, errors.New("not measured in a soak (--report-every), where the CPU profile's own memory grows with the run; --cpuprofile FILE measures it anyway")
	}
	pprof.StopCPUProfile()
	end := procTicks()
	r := &cpuReport{byComponent: map[string]time.Duration{}, process: -1, raw: m.buf.Bytes()}
	if m.ticks >= 0 && end >= 0 {
		r.process = time.Duration(end-m.ticks) * time.Second / clockTicks
	}
	p, err := profile.ParseData(r.raw)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	cpu, count := -1, -1
	for i, st := range p.SampleType {
		switch {
		case st.Type == "cpu" && st.Unit == "nanoseconds":
			cpu = i
		case st.Type == "samples":
			count = i
		}
	}
	if cpu < 0 || count < 0 {
		return nil, fmt.Errorf("cpu profile: no cpu/nanoseconds sample type")
	}
	for _, s := range p.Sample {
		d := time.Duration(s.Value[cpu])
		comp := ""
		if l := s.Label[devstack.ComponentLabel]; len(l) > 0 {
			comp = l[0]
		}
		r.byComponent[comp] += d
		if slices.Contains(s.Label[stepLabel], stepSign) {
			r.sign += d
		}
		r.total += d
		r.samples += s.Value[count]
	}
	return r, nil
}

// print writes CPU per login by component; logins > 0.
func (r *cpuReport) print(w io.Writer, logins int) {
	per := func(d time.Duration) string {
		return fmt.Sprintf("%7.2f ms", float64(d)/float64(time.Millisecond)/float64(logins))
	}
	fmt.Fprintf(w, "  CPU per login (CPU profile at 100 Hz, %d samples, by pprof label %q; CPU time, not wall time)\n", r.samples, devstack.ComponentLabel)
	comps := slices.Sorted(maps.Keys(r.byComponent))
	for _, c := range comps {
		if c == "" {
			continue
		}
		note := ""
		switch c {
		case componentDriver:
			note = "   (load driver: HTTP client)"
			if r.sign > 0 {
				note = fmt.Sprintf("   (load driver: HTTP client, and the demo IdP's response signing: %s of it)", strings.TrimSpace(per(r.sign)))
			}
		case devstack.ComponentBroker:
			note = "   (HTTP, handlers, store, outbound calls)"
		}
		fmt.Fprintf(w, "    %-12s %s%s\n", c, per(r.byComponent[c]), note)
	}
	fmt.Fprintf(w, "    %-12s %s   (GC workers, runtime, timers)\n", "unlabelled", per(r.byComponent[""]))
	proc := "?"
	if r.process >= 0 {
		proc = strings.TrimSpace(per(r.process))
	}
	fmt.Fprintf(w, "    %-12s %s   (process utime+stime over the same interval: %s)\n", "total", per(r.total), proc)
}

// procTicks is this process's utime+stime in clock ticks, -1 off Linux.
func procTicks() int64 {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return -1
	}
	_, _, ticks, ok := parseProcStat(string(b))
	if !ok {
		return -1
	}
	return ticks
}

// storeSnapshot is the store's size after a checkpoint and incremental
// vacuum (sqlstore Compact), and per table (its indexes included) the
// rows and the bytes of row content (SQLite's dbstat payload; pages are
// allocated in whole 4 KB units, so the file grows in steps).
type storeSnapshot struct {
	file    int64 // database file + WAL
	rows    map[string]int64
	payload map[string]int64
}

// snapshotStore compacts the store and measures it; the SQLite file is
// read on a read-only connection of its own.
func snapshotStore(ctx context.Context, st *devstack.Stack, dir string) (*storeSnapshot, error) {
	db := st.App.Store
	if err := db.Compact(ctx); err != nil {
		return nil, err
	}
	u, err := db.DiskUsage(ctx)
	if err != nil {
		return nil, err
	}
	s := &storeSnapshot{file: u.DB + u.WAL, rows: map[string]int64{}, payload: map[string]int64{}}
	ro, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "broker.db")+"?mode=ro")
	if err != nil {
		return nil, err
	}
	defer ro.Close()
	tableOf := map[string]string{}
	rows, err := ro.QueryContext(ctx, `SELECT name, tbl_name, type FROM sqlite_master WHERE type IN ('table', 'index')`)
	if err != nil {
		return nil, fmt.Errorf("store tables: %w", err)
	}
	var tables []string
	for rows.Next() {
		var name, tbl, typ string
		if err := rows.Scan(&name, &tbl, &typ); err != nil {
			rows.Close()
			return nil, err
		}
		tableOf[name] = tbl
		if typ == "table" {
			tables = append(tables, name)
		}
	}
	rows.Close()
	for _, t := range tables {
		var n int64
		if err := ro.QueryRowContext(ctx, `SELECT COUNT(*) FROM "`+strings.ReplaceAll(t, `"`, `""`)+`"`).Scan(&n); err != nil {
			return nil, fmt.Errorf("store rows of %s: %w", t, err)
		}
		s.rows[t] = n
	}
	rows, err = ro.QueryContext(ctx, `SELECT name, SUM(payload) FROM dbstat GROUP BY name`)
	if err != nil {
		return nil, fmt.Errorf("store dbstat: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var payload int64
		if err := rows.Scan(&name, &payload); err != nil {
			return nil, err
		}
		t := tableOf[name]
		if t == "" {
			t = name // sqlite_schema
		}
		s.payload[t] += payload
	}
	return s, rows.Err()
}

// printStore writes what the logins added to the store, per login.
func printStore(w io.Writer, before, after *storeSnapshot, logins int) {
	n := float64(logins)
	fmt.Fprintf(w, "  store         %+.1f KB per login: file (db + wal after a checkpoint and incremental vacuum) %s -> %s\n",
		float64(after.file-before.file)/1024/n, size(before.file), size(after.file))
	var total int64
	var parts []string
	for _, t := range slices.Sorted(maps.Keys(after.rows)) {
		dr, dp := after.rows[t]-before.rows[t], after.payload[t]-before.payload[t]
		if dr == 0 && dp == 0 {
			continue
		}
		total += dp
		parts = append(parts, fmt.Sprintf("%s %+.2f rows %+.2f KB", t, float64(dr)/n, float64(dp)/1024/n))
	}
	fmt.Fprintf(w, "                %+.2f KB per login of row content (tables and their indexes, dbstat payload):\n", float64(total)/1024/n)
	for _, p := range parts {
		fmt.Fprintf(w, "                  %s\n", p)
	}
}
