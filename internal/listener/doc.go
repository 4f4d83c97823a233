// Package listener is how every API of Durable listens and is called —
// the reconciler's API (`durable run --listen`), the router's admin API
// (`durable router --admin`) and the coming agent's — so that one flag
// scheme means the same everywhere (docs/operating.md, "Listeners, TLS and
// tokens").
//
// An API listens on a Unix socket (unix:///PATH, mode 0660, in the group the
// operator names) or on TCP: loopback as is, any other address only with
// TLS. Bearer tokens come from a file the operator keeps (read with package
// hostfile) and are compared in constant time. This package never logs or
// returns a token in an error, and never opens a non-loopback TCP listener
// without TLS.
package listener
