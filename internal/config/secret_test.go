package config

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestCookieSecretSources(t *testing.T) {
	cfgHex := strings.Repeat("11", 32)
	envHex := strings.Repeat("22", 32)
	fileHex := strings.Repeat("33", 40)
	dir := t.TempDir()
	file := filepath.Join(dir, "jupyterhub_cookie_secret")
	if err := os.WriteFile(file, []byte(fileHex+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := envOf(map[string]string{CookieSecretEnv: envHex})

	got, err := CookieSecret(cfgHex, file, env)
	if err != nil || hex.EncodeToString(got) != cfgHex {
		t.Errorf("config secret must win: %x, %v", got, err)
	}
	got, err = CookieSecret("", file, env)
	if err != nil || hex.EncodeToString(got) != envHex {
		t.Errorf("JPY_COOKIE_SECRET must win over the file: %x, %v", got, err)
	}
	got, err = CookieSecret("", file, envOf(nil))
	if err != nil || hex.EncodeToString(got) != fileHex {
		t.Errorf("file secret: %x, %v", got, err)
	}
}

func TestCookieSecretFileCreated(t *testing.T) {
	file := filepath.Join(t.TempDir(), "secret")
	first, err := CookieSecret("", file, envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != 32 {
		t.Errorf("new secret has %d bytes, want 32", len(first))
	}
	st, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("created with mode %04o, want 0600", st.Mode().Perm())
	}
	data, _ := os.ReadFile(file)
	if strings.TrimSpace(string(data)) != hex.EncodeToString(first) {
		t.Errorf("file holds %q, want the hex of the secret", data)
	}
	again, err := CookieSecret("", file, envOf(nil))
	if err != nil || !bytes.Equal(again, first) {
		t.Errorf("second start must read the same secret: %v", err)
	}
}

func TestCookieSecretRefused(t *testing.T) {
	dir := t.TempDir()
	good := strings.Repeat("ab", 32)
	for _, tc := range []struct {
		name    string
		content string
		mode    os.FileMode
		cfg     string
		env     string
		want    string
	}{
		{name: "world readable", content: good, mode: 0o644, want: "is accessible to group or others (mode 0644)"},
		{name: "group readable", content: good, mode: 0o640, want: "is accessible to group or others (mode 0640)"},
		{name: "not hex", content: "c2VjcmV0IHNlY3JldCBzZWNyZXQgc2VjcmV0IHNlY3JldA==", mode: 0o600, want: "not hex-encoded"},
		{name: "short", content: strings.Repeat("ab", 16), mode: 0o600, want: "too short: 16 bytes, want at least 32"},
		{name: "bad env", env: "xyz", want: "JPY_COOKIE_SECRET: not hex-encoded"},
		{name: "short env", env: "abcd", want: "JPY_COOKIE_SECRET: too short"},
		{name: "bad config", cfg: "nothex!", want: "JupyterHub.cookie_secret: not hex-encoded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_"))
			if tc.content != "" {
				if err := os.WriteFile(file, []byte(tc.content), 0o600); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(file, tc.mode); err != nil { // WriteFile's mode is cut by the umask
					t.Fatal(err)
				}
			}
			_, err := CookieSecret(tc.cfg, file, envOf(map[string]string{CookieSecretEnv: tc.env}))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tc.want)
			}
			for _, s := range []string{tc.content, tc.env, tc.cfg} {
				if len(s) > 4 && strings.Contains(err.Error(), s) {
					t.Errorf("error shows the secret: %v", err)
				}
			}
		})
	}
}

func TestCookieSecretDirectoryAndNoFile(t *testing.T) {
	if _, err := CookieSecret("", t.TempDir(), envOf(nil)); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("a directory as secret file: %v", err)
	}
	if _, err := CookieSecret("", filepath.Join(t.TempDir(), "no", "such", "dir", "secret"), envOf(nil)); err == nil {
		t.Error("a secret file in a missing directory succeeded")
	}
	a, err := CookieSecret("", "", envOf(nil))
	b, err2 := CookieSecret("", "", envOf(nil))
	if err != nil || err2 != nil || len(a) != 32 || bytes.Equal(a, b) {
		t.Errorf("no file: want fresh random 32-byte secrets, got %x %x (%v %v)", a, b, err, err2)
	}
}

func TestCookieSecretHome(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	if _, err := CookieSecret("", "~/cookie", envOf(nil)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(home, "cookie")); err != nil {
		t.Errorf("~/cookie not created in $HOME: %v", err)
	}
}
