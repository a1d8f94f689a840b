//go:build linux || darwin || freebsd

package sqlstore

import (
	"fmt"
	"path/filepath"
	"syscall"

	"github.com/broker-dev/broker"
)

// MinFreeDisk is the free space CheckWrite wants on the SQLite file's file
// system. An in-place update (the write check's own) still succeeds on a
// full disk, into pages the file and its WAL already have, while a
// sign-in, which needs new pages, fails with SQLITE_FULL: without this,
// /readyz stayed green on a full disk.
const MinFreeDisk = 1 << 20

// checkFreeDisk refuses with EUNAVAILABLE ReasonStoreFull when the SQLite
// file's file system has less than s.minFree bytes free to unprivileged
// writers; it says nothing when the space cannot be read.
func (s *DB) checkFreeDisk() error {
	if s.path == "" {
		return nil
	}
	var fs syscall.Statfs_t
	if err := syscall.Statfs(filepath.Dir(s.path), &fs); err != nil {
		return nil
	}
	free := int64(fs.Bavail) * int64(fs.Bsize)
	if free >= s.minFree {
		return nil
	}
	return broker.Wrap(fmt.Errorf("sqlstore: check write: %d bytes free on the disk of %s, want %d", free, s.path, s.minFree),
		broker.EUNAVAILABLE, ReasonStoreFull, "The broker's database is unavailable. Try again later.")
}
