package password_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gohub/internal/auth/password"
)

func TestRoundTrip(t *testing.T) {
	for _, alg := range []string{password.Bcrypt, password.Argon2id} {
		t.Run(alg, func(t *testing.T) {
			h, err := password.New(password.Options{Algorithm: alg, BcryptCost: 4, Argon2: password.Argon2Params{MemoryKiB: 1024, Iterations: 1, Parallelism: 1}, Weak: true})
			if err != nil {
				t.Fatal(err)
			}
			hash, err := h.Hash(t.Context(), "s3cret pässword")
			if err != nil {
				t.Fatal(err)
			}
			prefix := map[string]string{password.Bcrypt: "$2a$04$", password.Argon2id: "$argon2id$v=19$m=1024,t=1,p=1$"}[alg]
			if !strings.HasPrefix(hash, prefix) {
				t.Errorf("hash %q does not start with %q", hash, prefix)
			}
			for pw, want := range map[string]bool{"s3cret pässword": true, "s3cret password": false, "": false} {
				if ok, err := h.Verify(t.Context(), hash, pw); ok != want || err != nil {
					t.Errorf("Verify(%q) = %v, %v; want %v", pw, ok, err, want)
				}
			}
			again, _ := h.Hash(t.Context(), "s3cret pässword")
			if again == hash {
				t.Error("two hashes of one password are equal: no salt")
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	h, err := password.New(password.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := h.Describe(); got != "bcrypt cost=12" {
		t.Errorf("default = %s", got)
	}
	a, _ := password.New(password.Options{Algorithm: "argon2id"})
	if got := a.Describe(); got != "argon2id m=19456KiB t=2 p=1" {
		t.Errorf("argon2id default = %s", got)
	}
	for _, bad := range []password.Options{{Algorithm: "md5"}, {BcryptCost: 4}, {BcryptCost: 3, Weak: true}, {Argon2: password.Argon2Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1}}} {
		if _, err := password.New(bad); err == nil {
			t.Errorf("New(%+v) accepted", bad)
		}
	}
}

// TestForeignBcrypt checks hashes made elsewhere: crypt_blowfish's vector in each version
// prefix Python's bcrypt (FirstUse, Native) and PHP write.
func TestForeignBcrypt(t *testing.T) {
	h, _ := password.New(password.Options{})
	const body = "05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"
	for _, v := range []string{"$2a$", "$2b$", "$2y$"} {
		if ok, err := h.Verify(t.Context(), v+body, "U*U"); !ok || err != nil {
			t.Errorf("%s vector: %v, %v", v, ok, err)
		}
		if ok, _ := h.Verify(t.Context(), v+body, "U*V"); ok {
			t.Errorf("%s vector accepted a wrong password", v)
		}
	}
	if _, err := h.Verify(t.Context(), "plaintext", "plaintext"); err == nil {
		t.Error("a non-hash verified without error")
	}
}

func TestLongPasswords(t *testing.T) {
	h, _ := password.New(password.Options{BcryptCost: 4, Weak: true})
	if _, err := h.Hash(t.Context(), strings.Repeat("x", 73)); err == nil {
		t.Error("bcrypt hashed 73 bytes")
	}
	if ok, _ := h.Verify(t.Context(), "$2a$10$x", strings.Repeat("x", password.MaxLength+1)); ok {
		t.Error("over-long password verified")
	}
}

// TestConcurrencyBound checks that no more hashes run than the bound, and that the queue turns
// the excess away with ErrBusy.
func TestConcurrencyBound(t *testing.T) {
	// Cost 11 (about 100 ms a verify) and a common start: all ten ask for a slot while the
	// first two still hash, even on a loaded machine, so the test does not depend on timing.
	h, _ := password.New(password.Options{BcryptCost: 11, Weak: true, Concurrency: 2, MaxWaiting: 3})
	hash, _ := h.Hash(t.Context(), "pw")
	var busy atomic.Int32
	var wg sync.WaitGroup
	begin := make(chan struct{})
	start := time.Now()
	for range 10 {
		wg.Go(func() {
			<-begin
			if _, err := h.Verify(context.Background(), hash, "pw"); errors.Is(err, password.ErrBusy) {
				busy.Add(1)
			}
		})
	}
	close(begin)
	wg.Wait()
	if b := busy.Load(); b < 1 || b > 8 {
		t.Errorf("%d of 10 were turned away; want some (2 running + 3 waiting max)", b)
	}
	t.Logf("10 verifies in %v, %d busy", time.Since(start), busy.Load())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// A cancelled request gives up waiting (both slots free here, so it may still run).
	_, _ = h.Verify(ctx, hash, "pw")
}

func TestNeedsRehash(t *testing.T) {
	weak := password.Argon2Params{MemoryKiB: 1024, Iterations: 1, Parallelism: 1}
	b4, _ := password.New(password.Options{BcryptCost: 4, Weak: true})
	b5, _ := password.New(password.Options{BcryptCost: 5, Weak: true})
	a1, _ := password.New(password.Options{Algorithm: password.Argon2id, Argon2: weak, Weak: true})
	a2, _ := password.New(password.Options{Algorithm: password.Argon2id, Argon2: password.Argon2Params{MemoryKiB: 2048, Iterations: 1, Parallelism: 1}, Weak: true})
	h4, _ := b4.Hash(t.Context(), "pw")
	ha, _ := a1.Hash(t.Context(), "pw")
	for _, c := range []struct {
		h    *password.Hasher
		hash string
		want bool
	}{
		{b4, h4, false}, {b5, h4, true}, {a1, h4, true},
		{a1, ha, false}, {a2, ha, true}, {b4, ha, true},
	} {
		if got := c.h.NeedsRehash(c.hash); got != c.want {
			t.Errorf("%s NeedsRehash(%.12s…) = %v, want %v", c.h.Describe(), c.hash, got, c.want)
		}
	}
}
