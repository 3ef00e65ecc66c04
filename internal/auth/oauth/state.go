package oauth

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"time"
)

// stateCookie is upstream's cookie name, kept so proxies and docs that mention it still apply.
const stateCookie = "oauthenticator-state"

// stateTTL is how long a login may take between oauth_login and oauth_callback. Upstream's
// cookie lives a day; an hour is plenty for a login and narrows replays.
const stateTTL = time.Hour

// loginState is what oauth_login remembers for the callback, in the state cookie.
type loginState struct {
	ID       string `json:"id"`                 // random; also in the URL's state
	Next     string `json:"next,omitempty"`     // where to go after the login
	Verifier string `json:"verifier,omitempty"` // PKCE code_verifier
	Nonce    string `json:"nonce,omitempty"`    // OIDC nonce the ID token must carry
	Redirect string `json:"redirect"`           // redirect_uri sent to the provider
	Expires  int64  `json:"exp"`                // unix seconds
}

// stateCodec seals login states into cookies with AES-GCM under a key made at start: the
// cookie can be neither read (it holds the PKCE verifier) nor forged. A hub restart ends
// logins in progress, which then start again. Used state ids are remembered until they expire,
// so a callback cannot be replayed even with its cookie.
type stateCodec struct {
	aead cipher.AEAD

	mu        sync.Mutex
	used      map[string]time.Time
	nextSweep time.Time // when expired ids are next dropped from used
}

func newStateCodec() (*stateCodec, error) {
	key := make([]byte, 32)
	rand.Read(key)
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &stateCodec{aead: aead, used: map[string]time.Time{}}, nil
}

// seal returns the cookie value of st.
func (c *stateCodec) seal(st *loginState) string {
	data, _ := json.Marshal(st)
	nonce := make([]byte, c.aead.NonceSize())
	rand.Read(nonce)
	return base64.RawURLEncoding.EncodeToString(c.aead.Seal(nonce, nonce, data, []byte(stateCookie)))
}

// open reads a cookie value; it fails for anything this codec did not seal, or an expired one.
func (c *stateCodec) open(v string, now time.Time) (*loginState, error) {
	raw, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil || len(raw) < c.aead.NonceSize() {
		return nil, errBadState
	}
	data, err := c.aead.Open(nil, raw[:c.aead.NonceSize()], raw[c.aead.NonceSize():], []byte(stateCookie))
	if err != nil {
		return nil, errBadState
	}
	var st loginState
	if err := json.Unmarshal(data, &st); err != nil || st.ID == "" {
		return nil, errBadState
	}
	if now.Unix() > st.Expires {
		return nil, errors.New("the login took too long")
	}
	return &st, nil
}

// consume marks a state id used; false if it was used before.
func (c *stateCodec) consume(id string, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	// Expired ids go once a minute, not at every call: anyone can make used ids, and a scan
	// per callback would cost time quadratic in their number.
	if !now.Before(c.nextSweep) {
		for k, exp := range c.used {
			if now.After(exp) {
				delete(c.used, k)
			}
		}
		c.nextSweep = now.Add(time.Minute)
	}
	if _, seen := c.used[id]; seen {
		return false
	}
	c.used[id] = now.Add(stateTTL + time.Minute)
	return true
}

var errBadState = errors.New("invalid state cookie")

// urlState is the state parameter sent to the provider: base64 JSON {"state_id": id}, as
// upstream sends it.
func urlState(id string) string {
	data, _ := json.Marshal(map[string]string{"state_id": id})
	return base64.URLEncoding.EncodeToString(data)
}

// sameState reports whether the state parameter of a callback carries id.
func sameState(param, id string) bool {
	data, err := base64.URLEncoding.DecodeString(param)
	if err != nil {
		if data, err = base64.RawURLEncoding.DecodeString(param); err != nil {
			return false
		}
	}
	var v struct {
		StateID string `json:"state_id"`
	}
	if json.Unmarshal(data, &v) != nil || v.StateID == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(v.StateID), []byte(id)) == 1
}

// setStateCookie stores st for the callback; path is the hub prefix.
func (c *stateCodec) setCookie(w http.ResponseWriter, r *http.Request, path string, st *loginState) {
	http.SetCookie(w, &http.Cookie{
		Name: stateCookie, Value: c.seal(st), Path: path, MaxAge: int(stateTTL / time.Second),
		HttpOnly: true, Secure: isHTTPS(r),
		// Lax: the provider's redirect back is a top-level GET, which carries Lax cookies.
		SameSite: http.SameSiteLaxMode,
	})
}

// clearCookie removes the state cookie.
func clearStateCookie(w http.ResponseWriter, r *http.Request, path string) {
	http.SetCookie(w, &http.Cookie{Name: stateCookie, Value: "", Path: path, MaxAge: -1,
		Expires: time.Unix(0, 0), HttpOnly: true, Secure: isHTTPS(r), SameSite: http.SameSiteLaxMode})
}

// isHTTPS reports whether the browser reached the hub over https.
func isHTTPS(r *http.Request) bool {
	return r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" || r.Header.Get("X-Scheme") == "https"
}

// randomID returns 32 hex-like url-safe random characters.
func randomID() string {
	b := make([]byte, 18)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
