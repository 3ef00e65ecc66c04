package unixuser

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func TestUIDMin(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		text string
		want uint32
		bad  bool
	}{
		{"UID_MIN 1000\n", 1000, false},
		{"# UID_MIN 10\nUID_MIN\t\t\t 500\nUID_MAX 60000\n", 500, false},
		{"#UID_MIN 10\n", FallbackUIDMin, false},
		{"UID_MIN 100\nUID_MIN 2000\n", 2000, false},
		{"SYS_UID_MIN 100\nUID_MINX 5\n", FallbackUIDMin, false},
		{"UID_MIN 0x3e8\n", 0, true},
		{"UID_MIN 01750\n", 0, true},
		{"UID_MIN -1\n", 0, true},
		{"UID_MIN 4294967296\n", 0, true},
	} {
		p := filepath.Join(dir, "login.defs")
		if err := os.WriteFile(p, []byte(c.text), 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := UIDMin(p)
		if c.bad {
			if err == nil {
				t.Errorf("%q: no error (got %d)", c.text, got)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%q: %d, %v; want %d", c.text, got, err, c.want)
		}
	}
	if got, err := UIDMin(filepath.Join(dir, "missing")); err != nil || got != FallbackUIDMin {
		t.Errorf("missing file: %d, %v", got, err)
	}
}

// root and daemon are system accounts on every Linux; uid 0 is one whatever the minimum.
func TestSystemAccount(t *testing.T) {
	for _, name := range []string{"root", "daemon"} {
		if sys, err := SystemAccount(name, 1000); err != nil || !sys {
			t.Errorf("%s: %v, %v", name, sys, err)
		}
	}
	if sys, err := SystemAccount("root", 0); err != nil || !sys {
		t.Errorf("root with min 0: %v, %v", sys, err)
	}
	if sys, err := SystemAccount("no-such-user-gohub", 1000); err != nil || sys {
		t.Errorf("unknown name: %v, %v", sys, err)
	}
	if !IsSystem(999, 1000) || IsSystem(1000, 1000) || !IsSystem(0, 0) {
		t.Error("IsSystem boundary")
	}
}

// referenceUIDMin is the reading of login.defs written as a regular expression, independent
// of parseUIDMin's field splitting.
// (RE2's \S would take a vertical tab for a value: its \s lacks \v, which login.defs and
// strings.Fields count as a blank.)
var uidMinLine = regexp.MustCompile(`(?m)^[ \t\v\f\r]*UID_MIN[ \t\v\f\r]+([^ \t\v\f\r\n]+)`)

func FuzzParseUIDMin(f *testing.F) {
	for _, s := range []string{"UID_MIN 1000\n", "UID_MIN\t500\nUID_MIN 7", "# UID_MIN 3\n", "UID_MIN 0x10", "UID_MIN 010", "UID_MIN", " UID_MIN 42 # c\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		if strings.ContainsAny(text, "\x85\u00a0\u1680\u2000\u2028\u2029\u202f\u205f\u3000") || len(text) > 4096 {
			return // strings.Fields splits on Unicode blanks too; login.defs is ASCII
		}
		got, err := parseUIDMin(strings.NewReader(text))
		want, wantErr := uint32(FallbackUIDMin), false
		for _, m := range uidMinLine.FindAllStringSubmatch(text, -1) {
			n, perr := strconv.ParseUint(m[1], 10, 32)
			if perr != nil || len(m[1]) > 1 && m[1][0] == '0' {
				wantErr = true
				break
			}
			want = uint32(n)
		}
		if (err != nil) != wantErr || err == nil && got != want {
			t.Errorf("%q: got %d, %v; reference %d, error %v", text, got, err, want, wantErr)
		}
	})
}
