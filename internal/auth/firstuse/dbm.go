package firstuse

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"gohub/internal/auth"
	"gohub/internal/auth/password"
	"gohub/internal/store"
)

// ReadDBM reads upstream FirstUse's passwords.dbm (key: username, value: bcrypt hash) and
// returns its entries with keys and values as the bytes Python stored. Python picks the dbm
// flavour by what exists on disk; so does ReadDBM: a dbm.dumb database (path.dir + path.dat) is
// read natively, any other (gdbm, ndbm) through `python3 -c` with Python's own dbm module
// (anyone migrating from FirstUse has the Python that wrote it). python is the interpreter;
// when empty, python3 from PATH and then /usr/bin/python3 are tried.
func ReadDBM(ctx context.Context, path, python string) (map[string]string, error) {
	base := path
	for _, ext := range []string{".dir", ".dat", ".bak"} {
		if strings.HasSuffix(base, ext) && fileExists(strings.TrimSuffix(base, ext)+".dat") {
			base = strings.TrimSuffix(base, ext)
		}
	}
	if fileExists(base+".dir") && fileExists(base+".dat") {
		return readDumb(base)
	}
	if python != "" {
		return readWithPython(ctx, path, python)
	}
	// A Python from pyenv or a venv may lack the gdbm module Debian's has (python3-gdbm).
	var err error
	for _, py := range []string{"python3", "/usr/bin/python3"} {
		var out map[string]string
		if out, err = readWithPython(ctx, path, py); err == nil {
			return out, nil
		}
	}
	return nil, err
}

// dbmExists reports whether a dbm database of any flavour exists at path: gdbm's file itself,
// ndbm's path.db, or dbm.dumb's path.dir and path.dat.
func dbmExists(path string) bool {
	return fileExists(path) || fileExists(path+".db") || fileExists(path+".dir") && fileExists(path+".dat")
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// pyDump prints a dbm database as JSON; bytes go through Latin-1 so any byte survives.
const pyDump = `import dbm, json, sys
with dbm.open(sys.argv[1], "r") as d:
    json.dump({k.decode("latin-1"): d[k].decode("latin-1") for k in d.keys()}, sys.stdout)
`

func readWithPython(ctx context.Context, path, python string) (map[string]string, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, python, "-c", pyDump, path)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("read %s with %s's dbm module: %w: %s", path, python, err, strings.TrimSpace(stderr.String()))
	}
	var raw map[string]string
	if err := json.Unmarshal(stdout.Bytes(), &raw); err != nil {
		return nil, fmt.Errorf("read %s: python output: %w", path, err)
	}
	out := make(map[string]string, len(raw))
	for k, v := range raw {
		out[latin1Bytes(k)] = latin1Bytes(v)
	}
	return out, nil
}

// latin1Bytes turns a string of characters U+0000–U+00FF back into the bytes they stand for.
func latin1Bytes(s string) string {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		b = append(b, byte(r))
	}
	return string(b)
}

// readDumb reads Python's dbm.dumb: base.dir holds one line per key, `'key', (offset, size)`,
// written as Latin-1 text with the key being Python's repr of the key bytes decoded as Latin-1;
// base.dat holds the values at those offsets.
func readDumb(base string) (map[string]string, error) {
	dat, err := os.ReadFile(base + ".dat")
	if err != nil {
		return nil, err
	}
	f, err := os.Open(base + ".dir")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := latin1String(sc.Bytes())
		if strings.TrimSpace(line) == "" {
			continue
		}
		key, rest, err := parsePyStr(line)
		if err != nil {
			return nil, fmt.Errorf("%s.dir line %d: %w", base, n, err)
		}
		var pos, size int
		if _, err := fmt.Sscanf(strings.TrimSpace(rest), ", (%d, %d)", &pos, &size); err != nil {
			return nil, fmt.Errorf("%s.dir line %d: bad offset and size: %w", base, n, err)
		}
		if pos < 0 || size < 0 || pos+size > len(dat) {
			return nil, fmt.Errorf("%s.dir line %d: value outside %s.dat", base, n, base)
		}
		out[latin1Bytes(key)] = string(dat[pos : pos+size])
	}
	return out, sc.Err()
}

// latin1String decodes Latin-1 bytes.
func latin1String(b []byte) string {
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}

// parsePyStr parses a Python str literal as repr writes it ('…' or "…" with backslash escapes)
// at the start of s, and returns its value and the rest of s.
func parsePyStr(s string) (string, string, error) {
	if s == "" || (s[0] != '\'' && s[0] != '"') {
		return "", "", errors.New("no quoted key")
	}
	q := rune(s[0])
	var b strings.Builder
	rs := []rune(s[1:])
	for i := 0; i < len(rs); i++ {
		c := rs[i]
		if c == q {
			return b.String(), string(rs[i+1:]), nil
		}
		if c != '\\' {
			b.WriteRune(c)
			continue
		}
		if i+1 >= len(rs) {
			break
		}
		i++
		switch e := rs[i]; e {
		case '\\', '\'', '"':
			b.WriteRune(e)
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'x', 'u', 'U':
			n := map[rune]int{'x': 2, 'u': 4, 'U': 8}[e]
			if i+n >= len(rs) {
				return "", "", errors.New("truncated escape")
			}
			v, err := strconv.ParseUint(string(rs[i+1:i+1+n]), 16, 32)
			if err != nil {
				return "", "", fmt.Errorf("bad escape: %w", err)
			}
			b.WriteRune(rune(v))
			i += n
		default:
			return "", "", fmt.Errorf("unknown escape \\%c", e)
		}
	}
	return "", "", errors.New("unterminated key")
}

// ImportOptions tune ImportDBM.
type ImportOptions struct {
	// Normalize turns a stored name into the hub name; auth.FoldUsername when nil (pass the
	// pipeline's Normalize to apply username_map too).
	Normalize func(string) string
	// Check says why a normalised name cannot be a hub username (control or invisible
	// characters, …); such entries are skipped as Invalid. auth.CheckBaseUsername when nil
	// (pass the pipeline's CheckUsername for username_pattern too).
	Check func(string) error
	// Overwrite replaces passwords the hub already has; by default they are kept.
	Overwrite bool
	// Python is the interpreter for non-dumb dbm files; see ReadDBM when empty.
	Python string
	Logger *slog.Logger
}

// ImportReport says what ImportDBM did, by hub name.
type ImportReport struct {
	Imported []string
	// Kept: the hub already had a password (and Overwrite was off), or another stored name
	// normalised to the same hub name first.
	Kept []string
	// Invalid: the value is not a hash gohub understands, or the name is not valid UTF-8.
	Invalid []string
}

// ImportDBM copies the hashes of upstream FirstUse's passwords.dbm into the hub database,
// unchanged (no re-hashing: Native's importer double-hashed them, nativeauthenticator#219), under
// the normalised names. `gohub firstuse-import passwords.dbm` calls it.
func ImportDBM(ctx context.Context, db *store.DB, path string, opts ImportOptions) (*ImportReport, error) {
	entries, err := ReadDBM(ctx, path, opts.Python)
	if err != nil {
		return nil, err
	}
	norm := opts.Normalize
	if norm == nil {
		norm = auth.FoldUsername
	}
	check := opts.Check
	if check == nil {
		check = auth.CheckBaseUsername
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	rep := &ImportReport{}
	seen := map[string]bool{}
	// Already-normalised keys first, so that on a collision the normalised entry wins, as
	// upstream's startup check decides.
	keys := make([]string, 0, len(entries))
	for k := range entries {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		an, bn := norm(a) == a, norm(b) == b
		switch {
		case an && !bn:
			return -1
		case bn && !an:
			return 1
		}
		return strings.Compare(a, b)
	})
	for _, k := range keys {
		hash := strings.TrimSpace(entries[k])
		name := norm(k)
		if !password.IsHash(hash) || !utf8Valid(k) || name == "" {
			rep.Invalid = append(rep.Invalid, k)
			log.Warn("firstuse import: skipped an entry that is not a bcrypt hash", "name", k)
			continue
		}
		if err := check(name); err != nil {
			rep.Invalid = append(rep.Invalid, k)
			log.Warn("firstuse import: skipped a name that cannot be a hub username", "name", strconv.Quote(k), "err", err)
			continue
		}
		if seen[name] {
			rep.Kept = append(rep.Kept, k)
			log.Warn("firstuse import: two stored names normalise to one hub name; the first is kept", "name", k, "normalised", name)
			continue
		}
		seen[name] = true
		if opts.Overwrite {
			err = db.SetPasswordHash(ctx, name, hash)
		} else {
			err = db.CreatePasswordHash(ctx, name, hash)
			if errors.Is(err, store.ErrExists) {
				rep.Kept = append(rep.Kept, name)
				continue
			}
		}
		if err != nil {
			return rep, fmt.Errorf("import password of %q: %w", name, err)
		}
		rep.Imported = append(rep.Imported, name)
	}
	log.Info("firstuse import done", "imported", len(rep.Imported), "kept", len(rep.Kept), "invalid", len(rep.Invalid))
	return rep, nil
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }
