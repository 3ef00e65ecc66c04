package native

import (
	"bytes"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"html/template"
	"image/png"
	"sync"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// totpOpts are RFC 6238's usual parameters, as upstream (onetimepass) uses: 6 digits, 30 s
// steps, SHA-1; one step of clock skew either way is accepted.
var totpOpts = totp.ValidateOpts{Period: 30, Skew: 1, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// totpStep checks code against secret at now, one 30 s step of clock skew either way, and
// returns the time step (counter) it matched; ok false when it matches none. Codes are compared
// in constant time.
func totpStep(secret, code string, now time.Time) (step int64, ok bool) {
	if secret == "" || len(code) != 6 {
		return 0, false
	}
	cur := now.Unix() / int64(totpOpts.Period)
	for _, d := range []int64{0, -1, 1} {
		at := time.Unix((cur+d)*int64(totpOpts.Period), 0)
		want, err := totp.GenerateCodeCustom(secret, at, totpOpts)
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return cur + d, true
		}
	}
	return 0, false
}

// usedSteps remembers each user's last accepted TOTP step, so a code is good for one login only
// (RFC 6238 §5.2): a code seen over someone's shoulder or in a log cannot be replayed.
type usedSteps struct {
	mu sync.Mutex
	m  map[string]int64
}

// claim accepts step for name if it is newer than the last accepted one.
func (u *usedSteps) claim(name string, step int64) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if last, ok := u.m[name]; ok && step <= last {
		return false
	}
	if u.m == nil {
		u.m = map[string]int64{}
	}
	u.m[name] = step
	return true
}

// enrolment is a new TOTP secret with what the sign-up page shows once: the secret, its
// otpauth:// URL and a QR code of it as a data: URL.
type enrolment struct {
	Secret string
	URL    string
	// QR is a data: URL of a PNG; template.URL so html/template keeps it in src.
	QR template.URL
}

// newEnrolment creates a TOTP secret (160 random bits, base32) for name.
func newEnrolment(issuer, name string) (*enrolment, error) {
	key, err := totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: name, SecretSize: 20})
	if err != nil {
		return nil, fmt.Errorf("totp secret: %w", err)
	}
	img, err := key.Image(200, 200)
	if err != nil {
		return nil, fmt.Errorf("totp qr code: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("totp qr code: %w", err)
	}
	return &enrolment{
		Secret: key.Secret(), URL: key.URL(),
		QR: template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())),
	}, nil
}
