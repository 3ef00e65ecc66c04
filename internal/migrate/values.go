package migrate

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// convertValue turns a value as record.py encodes it (JSON, with {"$": kind} objects for
// dicts and Python objects) into a YAML node. When gohub cannot take it, the node may still be
// given (to show the value commented out) and why says what is wrong; a function or object gives
// no node.
func convertValue(trait string, v any) (*yaml.Node, string) {
	if m, ok := v.(map[string]any); ok {
		switch m["$"] {
		case "class":
			path, _ := m["path"].(string)
			if strings.HasPrefix(path, "__config__.") {
				why := fmt.Sprintf("%s is a class defined in the config file; gohub cannot run Python classes", m["name"])
				if trait == "authenticator_class" {
					why += " (the command authenticator, authenticator_class: command, runs a program of yours to check logins)"
				}
				return nil, why
			}
		case "function":
			name, _ := m["name"].(string)
			why := fmt.Sprintf("a Python function (%s", name)
			if ln, ok := m["line"].(json.Number); ok {
				if l, _ := ln.Int64(); l > 0 {
					why += fmt.Sprintf(", defined at line %d", l)
				}
			}
			why += "); gohub cannot run Python code"
			if hint, ok := functionNotes[trait]; ok {
				why += ": " + hint
			}
			return nil, why
		}
	}
	n, why := node(trait, v)
	if why != "" {
		return nil, why
	}
	return n, ""
}

// node converts one value; why is set for a value that YAML cannot hold.
func node(trait string, v any) (*yaml.Node, string) {
	switch x := v.(type) {
	case nil:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}, ""
	case bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(x)}, ""
	case float64:
		if x == float64(int64(x)) && !strings.ContainsAny(strconv.FormatFloat(x, 'g', -1, 64), "e.") {
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.FormatInt(int64(x), 10)}, ""
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!float", Value: strconv.FormatFloat(x, 'g', -1, 64)}, ""
	case json.Number:
		return &yaml.Node{Kind: yaml.ScalarNode, Value: x.String()}, ""
	case string:
		var n yaml.Node
		_ = n.Encode(x) // quotes strings that would read as another type
		return &n, ""
	case []any:
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for _, e := range x {
			c, why := node(trait, e)
			if why != "" {
				return nil, why
			}
			n.Content = append(n.Content, c)
		}
		return n, ""
	case map[string]any:
		switch x["$"] {
		case "dict":
			n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
			items, _ := x["items"].([]any)
			for _, it := range items {
				kv, _ := it.([]any)
				if len(kv) != 2 {
					return nil, "a malformed dict item"
				}
				k, why := node(trait, kv[0])
				if why != "" {
					return nil, why
				}
				if k.Kind != yaml.ScalarNode {
					return nil, "a dict key that is not a string or number"
				}
				val, why := node(trait, kv[1])
				if why != "" {
					return nil, why
				}
				n.Content = append(n.Content, k, val)
			}
			return n, ""
		case "bytes":
			// Secrets and keys are hex in gohub (as in JPY_COOKIE_SECRET); other bytes are text.
			text, isText := x["text"].(string)
			if hexed, _ := x["hex"].(string); !isText || strings.Contains(trait, "secret") || strings.Contains(trait, "key") {
				return node(trait, hexed)
			}
			return node(trait, text)
		case "class":
			path, _ := x["path"].(string)
			if strings.HasPrefix(path, "__config__.") {
				return nil, fmt.Sprintf("holds %s, a class defined in the config file; gohub cannot run Python classes", x["name"])
			}
			return node(trait, path)
		case "function":
			return nil, fmt.Sprintf("holds a Python function (%s); gohub cannot run Python code", x["name"])
		case "object":
			return nil, fmt.Sprintf("a Python %s object gohub cannot read: %s", x["type"], x["repr"])
		}
	}
	return nil, fmt.Sprintf("an unexpected recorded value %T", v)
}
