package wire

import (
	"fmt"
	"strconv"
	"strings"
)

// maxShard bounds a shard's name.
const maxShard = 200

// FormatFence writes a FenceHeader value.
func FormatFence(shard string, token uint64) string {
	return shard + " " + strconv.FormatUint(token, 10)
}

// ParseFence reads a FenceHeader value.
func ParseFence(v string) (shard string, token uint64, err error) {
	shard, num, ok := strings.Cut(v, " ")
	if !ok || shard == "" || len(shard) > maxShard || strings.ContainsFunc(shard, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return "", 0, fmt.Errorf("%s %q: write SHARD TOKEN, the shard a name of up to %d printable characters without spaces", FenceHeader, v, maxShard)
	}
	token, err = strconv.ParseUint(num, 10, 64)
	if err != nil || token == 0 {
		return "", 0, fmt.Errorf("%s %q: the token must be a positive decimal", FenceHeader, v)
	}
	return shard, token, nil
}
