package config

import (
	"bytes"
	"testing"
)

// FuzzParseDecode checks that no input makes parsing, validation or decoding panic, and that an
// error always names the file.
func FuzzParseDecode(f *testing.F) {
	var gen bytes.Buffer
	if err := Generate(&gen, testSchema()); err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(uncomment(gen.String())))
	f.Add([]byte("Base:\n  rules: [{name: a, scopes: [x]}]\n  extra: {a: [1, {b: c}]}\n"))
	f.Add([]byte("JupyterHub:\n  services: [{name: a, info: {x: 1}, display: null}]\n"))
	f.Add([]byte("Base: &a {count: 1}\nChild: *a\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse("f.yaml", data)
		if err != nil {
			if !bytes.HasPrefix([]byte(err.Error()), []byte("f.yaml")) {
				t.Errorf("error without file name: %v", err)
			}
			return
		}
		s := testSchema()
		_ = file.Validate(s)
		for _, c := range s.Classes() {
			_ = file.Decode(s, c.Name, c.New())
		}
	})
}
