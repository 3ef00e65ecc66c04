package native

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html/template"
	"image/png"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// totpOpts are RFC 6238's usual parameters, as upstream (onetimepass) uses: 6 digits, 30 s
// steps, SHA-1; one step of clock skew either way is accepted.
var totpOpts = totp.ValidateOpts{Period: 30, Skew: 1, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// validTOTP reports whether code is the TOTP code of secret at now (± one step).
func validTOTP(secret, code string, now time.Time) bool {
	if secret == "" || code == "" {
		return false
	}
	ok, err := totp.ValidateCustom(code, secret, now, totpOpts)
	return err == nil && ok
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
