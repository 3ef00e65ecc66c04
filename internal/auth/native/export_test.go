package native

// The tests hash with bcrypt cost 4: under the race detector cost 12 takes many seconds.
func init() { weakHashing = true }
