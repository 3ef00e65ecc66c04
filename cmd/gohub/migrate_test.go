package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// runGohub runs the CLI in dir with args and returns stdout, stderr and the error.
func runGohub(t *testing.T, dir string, args ...string) (string, string, error) {
	t.Helper()
	t.Chdir(dir)
	root := newRoot()
	var out, errw bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errw)
	root.SetArgs(args)
	err := root.ExecuteContext(t.Context())
	return out.String(), errw.String(), err
}

func TestMigrateConfigCommand(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("python3 is required under CI: %v", err)
		}
		t.Skip("python3 not installed")
	}
	dir := t.TempDir()
	src := "c = get_config()\nc.JupyterHub.port = 8123\nc.JupyterHub.frobnicate = True\n"
	if err := os.WriteFile(filepath.Join(dir, "jupyterhub_config.py"), []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}

	// Default input (./jupyterhub_config.py), output on stdout, summary on stderr.
	out, errOut, err := runGohub(t, dir, "migrate-config")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "JupyterHub:\n  port: 8123\n") || !strings.Contains(out, "# frobnicate: true") {
		t.Errorf("stdout:\n%s", out)
	}
	if !strings.Contains(errOut, "converted 1 of 2 settings") || !strings.Contains(errOut, "jupyterhub_config.py:3: JupyterHub.frobnicate: unknown trait") {
		t.Errorf("stderr:\n%s", errOut)
	}

	// -o writes a file and refuses to overwrite it without --force.
	dst := filepath.Join(dir, "gohub_config.yaml")
	if _, _, err := runGohub(t, dir, "migrate-config", "jupyterhub_config.py", "-o", dst); err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(dst); err != nil || string(data) != out {
		t.Errorf("-o wrote %q (%v), want the stdout output", data, err)
	}
	if _, _, err := runGohub(t, dir, "migrate-config", "-o", dst); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Errorf("second -o: %v, want a refusal naming --force", err)
	}
	if err := os.WriteFile(dst, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runGohub(t, dir, "migrate-config", "-o", dst, "--force"); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(dst); string(data) != out {
		t.Errorf("--force did not overwrite: %q", data)
	}

	// A missing input is an error naming it; so is a broken one, and nothing is written.
	if _, _, err := runGohub(t, dir, "migrate-config", "nope.py"); err == nil || !strings.Contains(err.Error(), "nope.py") {
		t.Errorf("missing input: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "broken.py"), []byte("c = get_config()\nc.JupyterHub.port = (\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "never.yaml")
	if _, _, err := runGohub(t, dir, "migrate-config", "broken.py", "-o", bad); err == nil || !strings.Contains(err.Error(), "broken.py:2: SyntaxError") {
		t.Errorf("broken input: %v", err)
	}
	if _, err := os.Stat(bad); err == nil {
		t.Error("an output file was created for a config that failed")
	}
	// --help says the file is executed.
	help, _, _ := runGohub(t, dir, "migrate-config", "--help")
	if !strings.Contains(help, "EXECUTED") {
		t.Errorf("--help does not warn that the config runs:\n%s", help)
	}
}
