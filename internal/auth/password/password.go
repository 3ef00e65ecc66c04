// Package password hashes and checks user passwords for the authenticators that keep them
// (FirstUse, later Native): bcrypt (cost 12 by default; the format of FirstUse's passwords.dbm and
// Native's users_info, so imported hashes verify unchanged) or argon2id with OWASP's parameters.
// The algorithm is in the hash string ("$2b$…", "$argon2id$…"), so both kinds verify whatever
// the configured algorithm for new hashes is.
//
// Hashing is deliberately slow, so a Hasher bounds how many hashes run at once: a flood of logins
// waits for a slot (or is turned away when the queue is full) instead of taking every CPU from the
// rest of the hub.
package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Algorithms for new hashes.
const (
	Bcrypt   = "bcrypt"
	Argon2id = "argon2id"
)

// DefaultBcryptCost is bcrypt's work factor for new hashes: 12, as FirstUse and Native use
// (OWASP's minimum is 10).
const DefaultBcryptCost = 12

// MinBcryptCost is the lowest bcrypt cost accepted (OWASP's minimum).
const MinBcryptCost = 10

// Argon2Params are argon2id's parameters.
type Argon2Params struct {
	MemoryKiB   uint32
	Iterations  uint32
	Parallelism uint8
}

// OWASPArgon2 is OWASP's first recommended argon2id configuration (Password Storage Cheat
// Sheet): 19 MiB of memory, 2 iterations, 1 lane.
var OWASPArgon2 = Argon2Params{MemoryKiB: 19 * 1024, Iterations: 2, Parallelism: 1}

// MaxLength is the longest password accepted, in bytes: longer ones only cost CPU.
const MaxLength = 1024

// ErrBusy is returned when too many hashes are already waiting for a slot.
var ErrBusy = errors.New("too many password checks in progress")

// Options configure a Hasher.
type Options struct {
	// Algorithm for new hashes: Bcrypt (default) or Argon2id.
	Algorithm string
	// BcryptCost for new bcrypt hashes; DefaultBcryptCost when 0.
	BcryptCost int
	// Argon2 parameters for new argon2id hashes; OWASPArgon2 when zero.
	Argon2 Argon2Params
	// Concurrency is how many hashes may run at once; GOMAXPROCS-1 (at least 1) when 0, so one
	// CPU is always left for the rest of the hub.
	Concurrency int
	// Weak allows bcrypt costs from 4 and argon2id below 8 MiB: for tests only, where the race
	// detector makes a cost-12 hash take many seconds.
	Weak bool
	// MaxWaiting is how many hashes may wait for a slot before ErrBusy; 64 per slot when 0.
	MaxWaiting int
}

// Hasher hashes and verifies passwords with bounded concurrency. It is safe for concurrent use.
type Hasher struct {
	alg     string
	cost    int
	argon   Argon2Params
	slots   chan struct{}
	waiting atomic.Int64
	maxWait int64
}

// New checks opts and returns a Hasher.
func New(opts Options) (*Hasher, error) {
	h := &Hasher{alg: opts.Algorithm, cost: opts.BcryptCost, argon: opts.Argon2}
	switch strings.ToLower(h.alg) {
	case "", Bcrypt:
		h.alg = Bcrypt
	case Argon2id:
		h.alg = Argon2id
	default:
		return nil, fmt.Errorf("password hash algorithm %q: want bcrypt or argon2id", opts.Algorithm)
	}
	if h.cost == 0 {
		h.cost = DefaultBcryptCost
	}
	if h.cost < MinBcryptCost && !opts.Weak || h.cost < bcrypt.MinCost || h.cost > bcrypt.MaxCost {
		return nil, fmt.Errorf("bcrypt cost %d: want %d to %d", h.cost, MinBcryptCost, bcrypt.MaxCost)
	}
	if h.argon == (Argon2Params{}) {
		h.argon = OWASPArgon2
	}
	if h.argon.MemoryKiB < 8*1024 && !opts.Weak || h.argon.Iterations < 1 || h.argon.Parallelism < 1 {
		return nil, fmt.Errorf("argon2id parameters %+v are below the minimum (8 MiB, 1 iteration, 1 lane)", h.argon)
	}
	n := opts.Concurrency
	if n == 0 {
		n = max(1, runtime.GOMAXPROCS(0)-1)
	}
	if n < 1 {
		return nil, fmt.Errorf("hash concurrency %d: want at least 1", n)
	}
	h.slots = make(chan struct{}, n)
	h.maxWait = int64(opts.MaxWaiting)
	if h.maxWait == 0 {
		h.maxWait = int64(64 * n)
	}
	return h, nil
}

// Describe names the algorithm and parameters of new hashes, for logs and benchmarks.
func (h *Hasher) Describe() string {
	if h.alg == Argon2id {
		return fmt.Sprintf("argon2id m=%dKiB t=%d p=%d", h.argon.MemoryKiB, h.argon.Iterations, h.argon.Parallelism)
	}
	return fmt.Sprintf("bcrypt cost=%d", h.cost)
}

// Algorithm is the algorithm of new hashes: Bcrypt or Argon2id.
func (h *Hasher) Algorithm() string { return h.alg }

// Concurrency is the number of hashes that may run at once.
func (h *Hasher) Concurrency() int { return cap(h.slots) }

// acquire waits for a slot; release must follow.
func (h *Hasher) acquire(ctx context.Context) error {
	if h.waiting.Add(1) > h.maxWait+int64(cap(h.slots)) {
		h.waiting.Add(-1)
		return ErrBusy
	}
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		h.waiting.Add(-1)
		return ctx.Err()
	}
}

func (h *Hasher) release() {
	<-h.slots
	h.waiting.Add(-1)
}

// Hash returns a new hash of pw with the configured algorithm and a random salt.
func (h *Hasher) Hash(ctx context.Context, pw string) (string, error) {
	if len(pw) > MaxLength {
		return "", fmt.Errorf("password longer than %d bytes", MaxLength)
	}
	if h.alg == Bcrypt && len(pw) > 72 {
		return "", errors.New("bcrypt cannot hash a password longer than 72 bytes")
	}
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	if h.alg == Argon2id {
		return h.argonHash(pw)
	}
	b, err := bcrypt.GenerateFromPassword([]byte(pw), h.cost)
	if err != nil {
		return "", fmt.Errorf("bcrypt: %w", err)
	}
	return string(b), nil
}

// Verify reports whether pw matches hash (bcrypt $2a$/$2b$/$2y$ or $argon2id$). Comparisons are
// constant-time. An unknown or malformed hash is an error.
func (h *Hasher) Verify(ctx context.Context, hash, pw string) (bool, error) {
	if len(pw) > MaxLength {
		return false, nil
	}
	if !IsHash(hash) {
		return false, errors.New("stored password hash has an unknown format")
	}
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	defer h.release()
	if strings.HasPrefix(hash, "$argon2id$") {
		return argonVerify(hash, pw)
	}
	// bcrypt reads at most 72 bytes; Python's bcrypt (FirstUse, Native) silently truncated.
	if len(pw) > 72 {
		pw = pw[:72]
	}
	err := bcrypt.CompareHashAndPassword([]byte(hash), []byte(pw))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
		return false, nil
	}
	return false, fmt.Errorf("bcrypt: %w", err)
}

// NeedsRehash reports whether hash was made with another algorithm or weaker parameters than
// new hashes get (an imported bcrypt 10 hash, or bcrypt after switching to argon2id): a login
// that verified it can store a fresh hash.
func (h *Hasher) NeedsRehash(hash string) bool {
	if strings.HasPrefix(hash, "$argon2id$") {
		if h.alg != Argon2id {
			return true
		}
		var m, t uint32
		var p uint8
		parts := strings.Split(hash, "$")
		if len(parts) != 6 {
			return true
		}
		if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
			return true
		}
		return m < h.argon.MemoryKiB || t < h.argon.Iterations
	}
	if h.alg != Bcrypt {
		return true
	}
	cost, err := bcrypt.Cost([]byte(hash))
	return err != nil || cost < h.cost
}

// IsHash reports whether s looks like a hash Verify understands.
func IsHash(s string) bool {
	for _, p := range []string{"$2a$", "$2b$", "$2y$", "$argon2id$"} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// argonHash encodes in the PHC string format: $argon2id$v=19$m=..,t=..,p=..$salt$hash.
func (h *Hasher) argonHash(pw string) (string, error) {
	salt := make([]byte, 16)
	rand.Read(salt)
	p := h.argon
	key := argon2.IDKey([]byte(pw), salt, p.Iterations, p.MemoryKiB, p.Parallelism, 32)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Iterations, p.Parallelism,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// argonVerify checks pw against a PHC argon2id string.
func argonVerify(hash, pw string) (bool, error) {
	parts := strings.Split(hash, "$") // "", argon2id, v=19, m=..,t=..,p=.., salt, key
	if len(parts) != 6 || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return false, errors.New("malformed argon2id hash")
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || t == 0 || p == 0 {
		return false, errors.New("malformed argon2id parameters")
	}
	if m > 4*1024*1024 || t > 100 {
		return false, errors.New("argon2id parameters too large")
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) < 16 {
		return false, errors.New("malformed argon2id salt or key")
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// Settings are the hashing traits of an authenticator that keeps passwords (FirstUse, Native);
// embed them inline in its config section.
type Settings struct {
	PasswordHash    string `yaml:"password_hash" help:"Algorithm for new password hashes: bcrypt (cost bcrypt_cost) or argon2id (OWASP parameters: 19 MiB, t=2, p=1). Stored hashes of either kind keep working."`
	BcryptCost      int    `yaml:"bcrypt_cost" help:"bcrypt work factor for new hashes (at least 10)."`
	HashConcurrency int    `yaml:"hash_concurrency" help:"How many password hashes may run at once; 0: one less than the number of CPUs (at least 1)."`
}

// DefaultSettings are bcrypt with DefaultBcryptCost and the default concurrency.
func DefaultSettings() Settings {
	return Settings{PasswordHash: Bcrypt, BcryptCost: DefaultBcryptCost}
}

// Options turns the settings into a Hasher's options; weak allows test-only costs.
func (s Settings) Options(weak bool) Options {
	return Options{Algorithm: s.PasswordHash, BcryptCost: s.BcryptCost, Concurrency: s.HashConcurrency, Weak: weak}
}
