package api

import (
	"encoding/json"
	"testing"
	"time"
)

// FuzzJSONString checks jw.str against encoding/json: same decoded string, always valid JSON.
func FuzzJSONString(f *testing.F) {
	for _, s := range []string{"", "alice", `a"b\c`, "line\nbreak\t\x00\x1f", "é😀", "\xff\xfe", "\u2028\u2029", "<>&"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var j jw
		j.str(s)
		if !json.Valid(j.b) {
			t.Fatalf("invalid JSON for %q: %s", s, j.b)
		}
		var got, want string
		if err := json.Unmarshal(j.b, &got); err != nil {
			t.Fatal(err)
		}
		ref, _ := json.Marshal(s)
		if err := json.Unmarshal(ref, &want); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("%q: decoded %q, encoding/json gives %q", s, got, want)
		}
	})
}

// TestTimestamps covers §0.3: output with microseconds only when non-zero, lenient input.
func TestTimestamps(t *testing.T) {
	for in, want := range map[time.Time]string{
		time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC):                      "2024-05-01T12:00:00Z",
		time.Date(2024, 5, 1, 12, 0, 0, 123456789, time.UTC):              "2024-05-01T12:00:00.123456Z",
		time.Date(2024, 5, 1, 12, 0, 0, 999, time.UTC):                    "2024-05-01T12:00:00Z",
		time.Date(2024, 5, 1, 14, 0, 0, 0, time.FixedZone("CEST", 7200)):  "2024-05-01T12:00:00Z",
		time.Date(2024, 5, 1, 12, 0, 0, 500000000, time.FixedZone("", 0)): "2024-05-01T12:00:00.500000Z",
	} {
		if got := formatTimestamp(in); got != want {
			t.Errorf("%v: %s, want %s", in, got, want)
		}
	}
	want := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	for _, s := range []string{"2024-05-01T12:00:00Z", "2024-05-01T12:00:00", "2024-05-01T14:00:00+02:00",
		"2024-05-01 12:00:00", "2024-05-01T12:00:00.000Z", "2024-05-01T12:00Z", "2024-05-01T12:00"} {
		got, ok := parseTimestamp(s)
		if !ok || !got.Equal(want) {
			t.Errorf("parse %q: %v %v", s, got, ok)
		}
	}
	for _, s := range []string{"", "yesterday", "2024-13-01T00:00:00Z", "12:00"} {
		if _, ok := parseTimestamp(s); ok {
			t.Errorf("parse %q accepted", s)
		}
	}
}
