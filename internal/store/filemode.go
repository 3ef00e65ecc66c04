package store

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
)

// privateFiles makes the SQLite database at path readable by the hub's user only: it holds
// password hashes, tokens' hashes and 2FA secrets. A missing database file is created empty
// with mode 0600 (an empty file is an empty SQLite database); SQLite then gives its -wal, -shm
// and -journal files the database file's mode. An existing database or side file that others
// may read or write is set to 0600 with a warning.
func privateFiles(path string, log *slog.Logger) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case err == nil:
		f.Close()
	case errors.Is(err, fs.ErrExist):
	default:
		return fmt.Errorf("create the database file %s: %w", path, err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
		fi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("database file %s: %w", p, err)
		}
		if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o077 == 0 {
			continue
		}
		if err := os.Chmod(p, fi.Mode().Perm()&0o700); err != nil {
			return fmt.Errorf("database file %s is readable by others (mode %04o) and cannot be made private: %w", p, fi.Mode().Perm(), err)
		}
		log.Warn("database file was readable by other users; made private to the hub's user",
			"file", p, "was", fmt.Sprintf("%04o", fi.Mode().Perm()), "now", fmt.Sprintf("%04o", fi.Mode().Perm()&0o700))
	}
	return nil
}
