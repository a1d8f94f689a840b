//go:build !(linux || darwin || freebsd)

package sqlstore

// MinFreeDisk is the free space CheckWrite wants on the SQLite file's file
// system where it can read it (diskfree.go); not on this system.
const MinFreeDisk = 1 << 20

// checkFreeDisk cannot read the free space here: it says nothing.
func (s *DB) checkFreeDisk() error { return nil }
