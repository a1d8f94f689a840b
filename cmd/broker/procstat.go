package main

import (
	"strconv"
	"strings"
)

// clockTicks is the kernel's USER_HZ, in which /proc/<pid>/stat counts
// CPU time: 100 on every Linux architecture Go supports.
const clockTicks = 100

// parseProcStat reads a /proc/<pid>/stat line: the command name, the
// parent's pid and utime+stime in clock ticks. The name (field 2) is in
// parentheses and may hold spaces and parentheses, so the fields are
// split after the last ')': ppid is the 2nd after it, utime and stime
// (fields 14 and 15) the 12th and 13th.
func parseProcStat(s string) (comm string, ppid int, ticks int64, ok bool) {
	i, j := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if i < 0 || j < i {
		return "", 0, 0, false
	}
	f := strings.Fields(s[j+1:])
	if len(f) < 13 {
		return "", 0, 0, false
	}
	ppid, err0 := strconv.Atoi(f[1])
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err0 != nil || err1 != nil || err2 != nil {
		return "", 0, 0, false
	}
	return s[i+1 : j], ppid, u + st, true
}
