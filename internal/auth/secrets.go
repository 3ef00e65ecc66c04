package auth

import "context"

// SecretSealer encrypts the secrets an authenticator keeps in the hub database
// (*authstate.Sealer): Seal's result is what is stored, Open gives the secret back.
type SecretSealer interface {
	Seal(ctx context.Context, secret string) (string, error)
	Open(ctx context.Context, sealed string) (string, error)
}

// SecretKeeper is an authenticator that keeps secrets in the hub database (Native's TOTP
// secrets). The hub hands it the sealer through Pipeline.UseSealer before Pipeline.Start, so
// UseDatabase can seal secrets an older version stored in clear.
type SecretKeeper interface {
	UseSealer(s SecretSealer)
}

// UseSealer hands the hub's secret sealer to the authenticator if it keeps secrets.
func (p *Pipeline) UseSealer(s SecretSealer) {
	if k, ok := p.auth.(SecretKeeper); ok {
		k.UseSealer(s)
	}
}
