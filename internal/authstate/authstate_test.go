package authstate

import (
	"context"
	"encoding/base64"
	"errors"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"
)

const key1 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" // hex

func TestRoundTripAndRotation(t *testing.T) {
	ctx := context.Background()
	old, err := New(key1)
	if err != nil {
		t.Fatal(err)
	}
	state := map[string]any{"access_token": "secret-token", "groups": []any{"a", "b"}}
	blob, err := old.Encrypt(ctx, state)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(blob), "secret-token") {
		t.Fatal("the blob holds the token in clear")
	}
	newKey := base64.URLEncoding.EncodeToString([]byte("abcdefghijklmnopqrstuvwxyz012345"))
	rotated, err := New(newKey + ";" + key1)
	if err != nil {
		t.Fatal(err)
	}
	got, err := rotated.Decrypt(ctx, blob)
	if err != nil || !reflect.DeepEqual(got, state) {
		t.Fatalf("decrypt with the old key second: %v %v", got, err)
	}
	onlyNew, _ := New(newKey)
	if _, err := onlyNew.Decrypt(ctx, blob); !errors.Is(err, ErrDecrypt) {
		t.Errorf("decrypt without the key: %v, want ErrDecrypt", err)
	}
	tampered := []byte(string(blob))
	tampered[20] ^= 1
	if _, err := old.Decrypt(ctx, tampered); err == nil {
		t.Error("tampered blob decrypted")
	}
}

func TestBadKeys(t *testing.T) {
	for _, v := range []string{"", "short", "zz" + key1[2:], base64.StdEncoding.EncodeToString(make([]byte, 16))} {
		if _, err := New(v); err == nil {
			t.Errorf("New(%q) accepted", v)
		}
	}
}

// TestPythonFernet: blobs interoperate with the cryptography package JupyterHub uses.
func TestPythonFernet(t *testing.T) {
	py := "/usr/bin/python3"
	if exec.Command(py, "-c", "import cryptography.fernet").Run() != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("python3-cryptography is needed (it comes with Debian's jupyterhub)")
		}
		t.Skip("python3-cryptography missing")
	}
	ctx := context.Background()
	c, _ := New(key1)
	k := base64.URLEncoding.EncodeToString(mustHex(key1))
	blob, _ := c.Encrypt(ctx, map[string]any{"from": "go"})
	out, err := exec.Command(py, "-c", `import sys; from cryptography.fernet import Fernet
print(Fernet(sys.argv[1].encode()).decrypt(sys.argv[2].encode()).decode())`, k, string(blob)).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != `{"from":"go"}` {
		t.Fatalf("python could not open Go's blob: %v %s", err, out)
	}
	out, err = exec.Command(py, "-c", `import sys; from cryptography.fernet import Fernet
print(Fernet(sys.argv[1].encode()).encrypt(b'{"from": "python"}').decode())`, k).Output()
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Decrypt(ctx, []byte(strings.TrimSpace(string(out))))
	if err != nil || got["from"] != "python" {
		t.Fatalf("Go could not open Python's blob: %v %v", got, err)
	}
}

func mustHex(s string) []byte {
	b, err := decodeKey(s)
	if err != nil {
		panic(err)
	}
	return b
}
