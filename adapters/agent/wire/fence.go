package wire

import (
	"fmt"
	"strconv"
	"strings"
)

// maxShard bounds a shard's name.
const maxShard = 200

// MaxFences bounds the shards one FenceHeader names.
const MaxFences = 256

// FormatFences writes a FenceHeader value: each shard's token, in order.
func FormatFences(fences []Fenced) string {
	parts := make([]string, len(fences))
	for i, f := range fences {
		parts[i] = f.Shard + " " + strconv.FormatUint(f.Token, 10)
	}
	return strings.Join(parts, ", ")
}

// ParseFences reads a FenceHeader value: "SHARD TOKEN", or several such
// pairs separated by ", ", each shard named once.
func ParseFences(v string) ([]Fenced, error) {
	pairs := strings.Split(v, ", ")
	if len(pairs) > MaxFences {
		return nil, fmt.Errorf("%s names %d shards: at most %d", FenceHeader, len(pairs), MaxFences)
	}
	out := make([]Fenced, 0, len(pairs))
	seen := map[string]bool{}
	for _, pair := range pairs {
		f, err := parseFence(pair)
		if err != nil {
			return nil, err
		}
		if seen[f.Shard] {
			return nil, fmt.Errorf("%s names shard %q twice", FenceHeader, f.Shard)
		}
		seen[f.Shard] = true
		out = append(out, f)
	}
	return out, nil
}

// parseFence reads one "SHARD TOKEN" pair.
func parseFence(v string) (Fenced, error) {
	shard, num, ok := strings.Cut(v, " ")
	if !ok || shard == "" || len(shard) > maxShard || strings.ContainsFunc(shard, func(r rune) bool { return r <= ' ' || r == 0x7f || r == ',' }) {
		return Fenced{}, fmt.Errorf("%s %q: write SHARD TOKEN, the shard a name of up to %d printable characters without spaces or commas", FenceHeader, v, maxShard)
	}
	token, err := strconv.ParseUint(num, 10, 64)
	if err != nil || token == 0 {
		return Fenced{}, fmt.Errorf("%s %q: the token must be a positive decimal", FenceHeader, v)
	}
	return Fenced{Shard: shard, Token: token}, nil
}
