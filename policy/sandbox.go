package policy

import (
	"slices"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
)

// forbidden are the built-ins a policy may not call: they reach the network,
// the host, the clock or randomness, and would make a decision depend on
// something other than its input.
var forbidden = []string{
	"http.send", "net.lookup_ip_addr", "opa.runtime",
	"time.now_ns", "rand.intn", "uuid.rfc4122",
	"io.jwt.decode_verify", "crypto.x509.parse_and_verify_certificates",
	"crypto.x509.parse_and_verify_certificates_with_options",
	"trace",
}

// sandbox is the capabilities every policy is compiled with: OPA's own less
// the forbidden built-ins, and no host to fetch anything from.
func sandbox() *ast.Capabilities {
	caps := ast.CapabilitiesForThisVersion()
	caps.Builtins = slices.DeleteFunc(slices.Clone(caps.Builtins), func(b *ast.Builtin) bool {
		return slices.Contains(forbidden, b.Name)
	})
	caps.AllowNet = []string{}
	return caps
}

// sandboxAdvice explains a compile error caused by a forbidden built-in.
func sandboxAdvice(msg string) string {
	for _, name := range forbidden {
		if strings.Contains(msg, "function "+name) || strings.Contains(msg, "function "+strings.SplitN(name, ".", 2)[0]+".") {
			if name == "time.now_ns" {
				return "policies do not read the clock: use input.now (rfc3339, unixNano, weekday, hour, minute, date)"
			}
			return name + " is not available: policies are sandboxed (no network, host, clock or randomness); pass what a decision needs through its input"
		}
	}
	return ""
}
