package config

import (
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// field is one trait (or one key of a nested struct): its YAML name, help text and where it is
// in the struct, inline embedded structs flattened.
type field struct {
	key   string
	help  string
	index []int
	typ   reflect.Type
}

// fieldTable is the fields of a struct type, in declaration order.
type fieldTable struct {
	list  []field
	byKey map[string]int
}

var fieldCache sync.Map // reflect.Type → *fieldTable

// fieldsOf returns the keys of struct type t: fields tagged `yaml:"name"` (an untagged field
// is named by its lower-cased Go name, as the YAML library does), `yaml:"-"` and unexported
// fields skipped, and `yaml:",inline"` structs flattened. An outer key hides an inner one.
func fieldsOf(t reflect.Type) *fieldTable {
	if ft, ok := fieldCache.Load(t); ok {
		return ft.(*fieldTable)
	}
	ft := &fieldTable{byKey: map[string]int{}}
	collectFields(t, nil, ft)
	fieldCache.Store(t, ft)
	return ft
}

func collectFields(t reflect.Type, prefix []int, ft *fieldTable) {
	var own []field
	var inline []reflect.StructField
	seen := map[string]bool{}
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		name, opts, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		index := append(append([]int(nil), prefix...), i)
		if strings.Contains(","+opts+",", ",inline,") && sf.Type.Kind() == reflect.Struct {
			sf.Index = index
			inline = append(inline, sf)
			continue
		}
		if !sf.IsExported() {
			continue
		}
		if name == "" {
			name = strings.ToLower(sf.Name)
		}
		if seen[name] {
			continue
		}
		seen[name] = true
		own = append(own, field{key: name, help: sf.Tag.Get("help"), index: index, typ: sf.Type})
	}
	// Inline (parent) structs first, so a parent class's traits are listed before the child's;
	// a key of the outer struct then hides the same key of an inline one.
	for _, sf := range inline {
		collectFields(sf.Type, sf.Index, ft)
	}
	for _, f := range own {
		if i, dup := ft.byKey[f.key]; dup {
			ft.list[i] = f
			continue
		}
		ft.byKey[f.key] = len(ft.list)
		ft.list = append(ft.list, f)
	}
}

// keys returns the field names, for "did you mean".
func (ft *fieldTable) keys() []string {
	out := make([]string, len(ft.list))
	for i, f := range ft.list {
		out[i] = f.key
	}
	return out
}

var (
	durationType    = reflect.TypeFor[time.Duration]()
	unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()
)

// describeType says in words what a value of type t looks like in YAML, for "expected ...".
func describeType(t reflect.Type) string {
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		return "a valid " + t.String()
	}
	if t == durationType {
		return `a duration (seconds, or a string such as "90s" or "1h30m")`
	}
	switch t.Kind() {
	case reflect.Pointer:
		return describeType(t.Elem()) + " or null"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean (true or false)"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a non-negative integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "a list of " + plural(t.Elem())
	case reflect.Map:
		if t.Elem().Kind() == reflect.Interface {
			return "a mapping"
		}
		return "a mapping of names to " + plural(t.Elem())
	case reflect.Struct:
		return "a mapping"
	case reflect.Interface:
		return "a value"
	}
	return t.String()
}

// plural names the elements of a list or mapping.
func plural(t reflect.Type) string {
	switch d := describeType(t); {
	case t.Kind() == reflect.Struct, t.Kind() == reflect.Map:
		return "mappings"
	case t.Kind() == reflect.Interface:
		return "values"
	case strings.HasPrefix(d, "a list"):
		return "lists"
	case strings.HasPrefix(d, "a string"):
		return "strings"
	case strings.HasPrefix(d, "a boolean"):
		return "booleans"
	case strings.HasPrefix(d, "an integer"), strings.HasPrefix(d, "a non-negative integer"):
		return "integers"
	case strings.HasPrefix(d, "a number"):
		return "numbers"
	default:
		return "values (" + d + ")"
	}
}

// describeNode says what a YAML node holds, for "got ...". The value of a scalar is shown
// unless key looks like it holds a secret.
func describeNode(n *yaml.Node, key string) string {
	n = resolve(n)
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
	default:
		return "nothing"
	}
	var kind string
	switch n.Tag {
	case "!!null":
		return "null"
	case "!!str":
		kind = "a string"
	case "!!int":
		kind = "an integer"
	case "!!float":
		kind = "a number"
	case "!!bool":
		kind = "a boolean"
	case "!!timestamp":
		kind = "a timestamp"
	default:
		kind = "a " + strings.TrimPrefix(n.Tag, "!!") + " value"
	}
	if secretKey(key) {
		return kind + " (value not shown)"
	}
	v := n.Value
	if utf8.RuneCountInString(v) > 40 {
		v = string([]rune(v)[:40]) + "…"
	}
	if n.Tag == "!!str" {
		return fmt.Sprintf("%s %q", kind, v)
	}
	return kind + " " + v
}

// secretKey reports whether a trait name suggests its value is a secret, so that error
// messages (which end up in logs) leave the value out.
func secretKey(key string) bool {
	k := strings.ToLower(key)
	if i := strings.LastIndexAny(k, ".]"); i >= 0 {
		k = k[i+1:]
	}
	for _, s := range []string{"secret", "token", "password", "passwd", "key", "credential"} {
		if strings.Contains(k, s) {
			return true
		}
	}
	return false
}

// suggest returns the candidate closest to name by edit distance (ignoring case), or "" when
// none is close enough to be a plausible typo.
func suggest(name string, candidates []string) string {
	ln := strings.ToLower(name)
	limit := max(2, utf8.RuneCountInString(name)/3)
	best, bestD := "", -1
	for _, c := range candidates {
		lc := strings.ToLower(c)
		d := levenshtein(ln, lc)
		// A name that is part of a candidate or holds one ("mem" for "memory", "token" for
		// "api_token") is plausible however many letters differ.
		short := min(utf8.RuneCountInString(ln), utf8.RuneCountInString(lc))
		contained := short >= 3 && (strings.Contains(lc, ln) || strings.Contains(ln, lc))
		if d > limit && !contained {
			continue
		}
		if bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// levenshtein is the edit distance between a and b, by runes.
func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// didYouMean formats a suggestion as " (did you mean X?)", or "" for none.
func didYouMean(prefix, name string, candidates []string) string {
	if s := suggest(name, candidates); s != "" {
		return " (did you mean " + prefix + s + "?)"
	}
	return ""
}
