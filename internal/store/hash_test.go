package store_test

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"gohub/internal/store"
)

// Hashes made with Python's hashlib the way JupyterHub's hash_token makes them (protocol.md §6.3).
var pythonHashes = []struct{ plain, hashed string }{
	{"5a2e8d4b6f3c4e1a9b7d0c2e4f6a8b1d", "sha512:1:0123456789abcdef:e1b15e6f9b2d827f17b1ad157757d88a0e012dfe6afcaf59af7fbf62076b268e07c761045f5bbd9b6c016bc05c7f0dcb75ea8156fbfa23813ec37629a3a7b12b"},
	{"my-service-token-ñ", "sha512:16384:fedcba9876543210:7f39ee50025edacbcd2e801cd7050599d37c424b896f6fe538185e5a0254dcdff3cd13bb1e12c42a34c4225dfabfc87ec7b96d4b108f79822260f91d9381f264"},
	{"shorttok", "sha256:16384:a1b2c3d4e5f60718:b84972416d5b4479d0057e4da7129bbea0b3927d0f2cdd60bf64e0c8b3ed03a3"},
}

func TestVerifyPythonHashes(t *testing.T) {
	for _, h := range pythonHashes {
		if !store.VerifyToken(h.hashed, h.plain) {
			t.Errorf("VerifyToken(%q) = false", h.hashed[:24])
		}
		if store.VerifyToken(h.hashed, h.plain+"x") {
			t.Errorf("wrong token verified against %q", h.hashed[:24])
		}
	}
	for _, bad := range []string{"", "sha512:1:00", "md5:1:00:00", "sha512:x:00:00",
		"sha512:0:0123456789abcdef:00", "sha512:99999999:0123456789abcdef:00"} {
		if store.VerifyToken(bad, "anything") {
			t.Errorf("VerifyToken(%q) = true", bad)
		}
	}
}

func TestHashTokenFormat(t *testing.T) {
	re := regexp.MustCompile(`^sha512:(1|16384):[0-9a-f]{16}:[0-9a-f]{128}$`)
	for _, rounds := range []int{store.GeneratedTokenRounds, store.SuppliedTokenRounds} {
		a := store.HashToken("token-value", rounds)
		b := store.HashToken("token-value", rounds)
		if !re.MatchString(a) || a == b {
			t.Errorf("HashToken = %q, %q (want format and fresh salt)", a, b)
		}
		if !store.VerifyToken(a, "token-value") || store.VerifyToken(a, "token-valuf") {
			t.Errorf("round trip failed for %q", a)
		}
	}
}

// TestVerifyJupyterHubHash checks against JupyterHub's own hash_token when it is installed.
func TestVerifyJupyterHubHash(t *testing.T) {
	skip := t.Skip
	if os.Getenv("CI") == "true" {
		skip = t.Fatal
	}
	// Debian's jupyterhub package is importable by Debian's python3, which a pyenv or venv
	// python3 earlier on PATH may not see.
	var py string
	var out []byte
	candidates := []string{"/usr/bin/python3"}
	if p, err := exec.LookPath("python3"); err == nil {
		candidates = append(candidates, p)
	}
	for _, c := range candidates {
		o, err := exec.Command(c, "-c", "from jupyterhub.utils import hash_token; "+
			"print(hash_token('python-made-token', rounds=16384)); print(hash_token('abcd', salt=8, rounds=1))").Output()
		if err == nil {
			py, out = c, o
			break
		}
	}
	if py == "" {
		skip("no python3 that can import jupyterhub")
		return
	}
	lines := strings.Fields(string(out))
	if len(lines) != 2 {
		t.Fatalf("python output %q", out)
	}
	if !store.VerifyToken(lines[0], "python-made-token") || !store.VerifyToken(lines[1], "abcd") {
		t.Errorf("JupyterHub hashes %q do not verify", lines)
	}
	// And the other way round: Python verifies a Go hash.
	goHash := store.HashToken("go-made-token", 16384)
	err := exec.Command(py, "-c", "import sys; from jupyterhub.utils import compare_token; "+
		"sys.exit(0 if compare_token(sys.argv[1], 'go-made-token') else 1)", goHash).Run()
	if err != nil {
		t.Errorf("JupyterHub's compare_token rejects %q: %v", goHash, err)
	}
}
