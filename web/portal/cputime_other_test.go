//go:build !unix

package portal_test

import "time"

// cpuTime is not measured here (0): the benchmark reports no cpu-ms/op.
func cpuTime() time.Duration { return 0 }
