package store

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/hex"
	"hash"
	"strconv"
	"strings"
)

// Hash rounds (protocol.md §6.3).
const (
	// GeneratedTokenRounds is used for tokens the hub generates (uuid4 hex, high entropy).
	GeneratedTokenRounds = 1
	// SuppliedTokenRounds is used for user- or config-supplied tokens and OAuth client secrets.
	SuppliedTokenRounds = 16384
	// maxRounds bounds the work a stored hash can demand of VerifyToken.
	maxRounds = 1 << 20
	// PrefixLength is how many leading characters of a token are stored in api_tokens.prefix.
	PrefixLength = 4
)

// HashToken hashes a token as JupyterHub does (protocol.md §6.3): "sha512:<rounds>:<salt>:<hexdigest>"
// where salt is 16 hex characters (8 random bytes) and the digest is SHA-512 over the salt text
// followed by the token repeated rounds times.
func HashToken(plain string, rounds int) string {
	if rounds < 1 {
		rounds = 1
	}
	var raw [8]byte
	rand.Read(raw[:])
	salt := hex.EncodeToString(raw[:])
	return "sha512:" + strconv.Itoa(rounds) + ":" + salt + ":" + digest(sha512.New(), salt, plain, rounds)
}

// VerifyToken reports whether plain hashes to hashed (a HashToken or Python JupyterHub hash),
// comparing in constant time.
func VerifyToken(hashed, plain string) bool {
	parts := strings.SplitN(hashed, ":", 4)
	if len(parts) != 4 {
		return false
	}
	var h hash.Hash
	switch parts[0] {
	case "sha512":
		h = sha512.New()
	case "sha384":
		h = sha512.New384()
	case "sha256":
		h = sha256.New()
	default:
		return false
	}
	rounds, err := strconv.Atoi(parts[1])
	if err != nil || rounds < 1 || rounds > maxRounds {
		return false
	}
	got := digest(h, parts[2], plain, rounds)
	return subtle.ConstantTimeCompare([]byte(got), []byte(parts[3])) == 1
}

func digest(h hash.Hash, salt, plain string, rounds int) string {
	h.Write([]byte(salt))
	b := []byte(plain)
	for range rounds {
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// tokenPrefix is the first PrefixLength characters of a token (characters, as Python slices).
func tokenPrefix(plain string) string {
	n := 0
	for i := range plain {
		if n == PrefixLength {
			return plain[:i]
		}
		n++
	}
	return plain
}
