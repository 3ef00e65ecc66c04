// Package authstate encrypts users' auth_state at rest as JupyterHub does: JSON sealed with
// Fernet (AES-128-CBC + HMAC-SHA256) under the keys of JUPYTERHUB_CRYPT_KEY, which holds one or
// more 32-byte keys, base64 or hex, separated by ";" (the first encrypts, all decrypt, so keys
// can be rotated). Blobs written by a Python JupyterHub with the same key decrypt here, and the
// other way round.
package authstate

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// EnvKey is the environment variable that holds the keys, as in JupyterHub.
const EnvKey = "JUPYTERHUB_CRYPT_KEY"

// ErrNoKey: auth_state cannot be stored without JUPYTERHUB_CRYPT_KEY.
var ErrNoKey = errors.New("auth_state needs " + EnvKey + " (32 bytes, base64 or hex; generate one with: openssl rand -hex 32)")

// ErrDecrypt: no key opens the blob, or it was tampered with.
var ErrDecrypt = errors.New("auth_state could not be decrypted with any key of " + EnvKey)

// Crypter seals and opens auth_state. It is safe for concurrent use.
type Crypter struct {
	keys []fernetKey
	now  func() time.Time
}

type fernetKey struct{ sign, enc []byte }

// New parses the keys of JUPYTERHUB_CRYPT_KEY's value; an empty value is ErrNoKey.
func New(value string) (*Crypter, error) {
	var c Crypter
	for _, part := range strings.FieldsFunc(value, func(r rune) bool { return r == ';' || r == ' ' || r == '\n' }) {
		raw, err := decodeKey(part)
		if err != nil {
			return nil, err
		}
		c.keys = append(c.keys, fernetKey{sign: raw[:16], enc: raw[16:]})
	}
	if len(c.keys) == 0 {
		return nil, ErrNoKey
	}
	c.now = time.Now
	return &c, nil
}

// decodeKey reads one 32-byte key written as (url-safe) base64 or as hex, as JupyterHub accepts.
func decodeKey(s string) ([]byte, error) {
	for _, dec := range []func(string) ([]byte, error){
		base64.URLEncoding.DecodeString, base64.StdEncoding.DecodeString,
		base64.RawURLEncoding.DecodeString, hex.DecodeString,
	} {
		if b, err := dec(s); err == nil && len(b) == 32 {
			return b, nil
		}
	}
	return nil, fmt.Errorf("%s: a key is not 32 bytes of base64 or hex", EnvKey)
}

// Encrypt seals state (as JSON) with the first key. The result is the Fernet token's text,
// which is what JupyterHub stores in users.encrypted_auth_state.
func (c *Crypter) Encrypt(_ context.Context, state map[string]any) ([]byte, error) {
	plain, err := json.Marshal(state)
	if err != nil {
		return nil, fmt.Errorf("auth_state: %w", err)
	}
	k := c.keys[0]
	iv := make([]byte, aes.BlockSize)
	if _, err := rand.Read(iv); err != nil {
		return nil, err
	}
	pad := aes.BlockSize - len(plain)%aes.BlockSize
	padded := append(plain, bytes.Repeat([]byte{byte(pad)}, pad)...)
	block, _ := aes.NewCipher(k.enc)
	ct := make([]byte, len(padded))
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(ct, padded)
	msg := make([]byte, 0, 1+8+len(iv)+len(ct)+sha256.Size)
	msg = append(msg, 0x80)
	msg = binary.BigEndian.AppendUint64(msg, uint64(c.now().Unix()))
	msg = append(msg, iv...)
	msg = append(msg, ct...)
	mac := hmac.New(sha256.New, k.sign)
	mac.Write(msg)
	msg = mac.Sum(msg)
	out := make([]byte, base64.URLEncoding.EncodedLen(len(msg)))
	base64.URLEncoding.Encode(out, msg)
	return out, nil
}

// Decrypt opens a blob sealed by Encrypt or by JupyterHub with any of the keys.
func (c *Crypter) Decrypt(_ context.Context, blob []byte) (map[string]any, error) {
	raw := make([]byte, base64.URLEncoding.DecodedLen(len(blob)))
	n, err := base64.URLEncoding.Decode(raw, bytes.TrimSpace(blob))
	if err != nil || n < 1+8+aes.BlockSize+aes.BlockSize+sha256.Size || raw[0] != 0x80 {
		return nil, ErrDecrypt
	}
	raw = raw[:n]
	body, tag := raw[:n-sha256.Size], raw[n-sha256.Size:]
	for _, k := range c.keys {
		mac := hmac.New(sha256.New, k.sign)
		mac.Write(body)
		if !hmac.Equal(mac.Sum(nil), tag) {
			continue
		}
		iv, ct := body[9:9+aes.BlockSize], body[9+aes.BlockSize:]
		if len(ct)%aes.BlockSize != 0 {
			return nil, ErrDecrypt
		}
		block, _ := aes.NewCipher(k.enc)
		plain := make([]byte, len(ct))
		cipher.NewCBCDecrypter(block, iv).CryptBlocks(plain, ct)
		pad := int(plain[len(plain)-1])
		if pad < 1 || pad > aes.BlockSize || pad > len(plain) {
			return nil, ErrDecrypt
		}
		for _, b := range plain[len(plain)-pad:] {
			if int(b) != pad {
				return nil, ErrDecrypt
			}
		}
		var state map[string]any
		if err := json.Unmarshal(plain[:len(plain)-pad], &state); err != nil {
			return nil, fmt.Errorf("auth_state is not a JSON object: %w", err)
		}
		return state, nil
	}
	return nil, ErrDecrypt
}
