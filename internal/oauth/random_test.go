package oauth

import (
	"regexp"
	"strings"
	"testing"
)

// Codes and tokens are 30 letters and digits, every character about equally likely.
func TestRandomToken(t *testing.T) {
	t.Parallel()
	re := regexp.MustCompile(`^[A-Za-z0-9]{30}$`)
	counts := map[rune]int{}
	seen := map[string]bool{}
	const n = 4000
	for range n {
		s := randomToken(tokenLength)
		if !re.MatchString(s) || seen[s] {
			t.Fatalf("token %q malformed or repeated", s)
		}
		seen[s] = true
		for _, c := range s {
			counts[c]++
		}
	}
	if len(counts) != 62 {
		t.Fatalf("%d distinct characters, want 62", len(counts))
	}
	mean := float64(n*tokenLength) / 62
	for c, k := range counts {
		if float64(k) < 0.8*mean || float64(k) > 1.2*mean {
			t.Errorf("character %q appears %d times, mean %.0f", c, k, mean)
		}
	}
}

func TestValidVerifierText(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]bool{
		strings.Repeat("a", 43):             true,
		strings.Repeat("Z", 128):            true,
		"abc-._~" + strings.Repeat("0", 36): true,
		strings.Repeat("a", 42):             false,
		strings.Repeat("a", 129):            false,
		strings.Repeat("a", 42) + "+":       false,
		strings.Repeat("a", 42) + "=":       false,
		"":                                  false,
	} {
		if got := validVerifierText(s); got != want {
			t.Errorf("validVerifierText(%q) = %v", s, got)
		}
	}
}
