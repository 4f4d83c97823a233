package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// ErrUnsigned is the error of a delivery without a signature (401).
var ErrUnsigned = errors.New("unsigned delivery")

// ErrForged is the error of a delivery whose signature is malformed or
// does not match its body (403).
var ErrForged = errors.New("signature refused")

// MinSecret is the shortest secret accepted: a guessable one makes the
// signature worth nothing.
const MinSecret = 16

// CheckSecret refuses a secret too short to be one.
func CheckSecret(secret []byte) error {
	if len(secret) < MinSecret {
		return fmt.Errorf("the secret is %d bytes, at least %d are needed: make one with `openssl rand -hex 32`", len(secret), MinSecret)
	}
	return nil
}

// Signed checks, before the body is read, that a delivery of kind carries
// a signature at all; the error wraps ErrUnsigned and says how to fix it.
func Signed(kind Kind, h Header) error {
	s := schemes[kind]
	if h(s.signature) == "" {
		return fmt.Errorf("%w: no %s header; %s", ErrUnsigned, s.signature, s.fix)
	}
	return nil
}

// Verify checks a delivery of kind against secret: the HMAC-SHA256 of body
// in the kind's header, or for GitLab the secret itself. Both comparisons
// take the same time whatever the header holds. The error wraps ErrUnsigned
// or ErrForged, says what is wrong and how to fix it, and holds neither the
// secret nor the expected signature.
func Verify(kind Kind, secret []byte, h Header, body []byte) error {
	if err := Signed(kind, h); err != nil {
		return err
	}
	s := schemes[kind]
	got := h(s.signature)
	if s.token {
		// Hashing first makes the comparison's time independent of the
		// presented token's length, which ConstantTimeCompare's is not.
		want, have := sha256.Sum256(secret), sha256.Sum256([]byte(got))
		if !hmac.Equal(want[:], have[:]) {
			return fmt.Errorf("%w: %s is not the secret of this receiver; %s", ErrForged, s.signature, s.fix)
		}
		return nil
	}
	hexSum, ok := strings.CutPrefix(got, s.prefix)
	sum, err := hex.DecodeString(hexSum)
	if !ok || err != nil || len(sum) != sha256.Size {
		return fmt.Errorf("%w: %s is not %s%d hex digits (an HMAC-SHA256); %s", ErrForged, s.signature, s.prefix, 2*sha256.Size, s.fix)
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	if !hmac.Equal(mac.Sum(nil), sum) {
		return fmt.Errorf("%w: %s does not match the body signed with this receiver's secret: the sender's secret differs, or the body was changed on the way; %s",
			ErrForged, s.signature, s.fix)
	}
	return nil
}

// Sign returns the header and value a delivery of kind carries when signed
// with secret: what a generic sender computes, and what tests send.
func Sign(kind Kind, secret, body []byte) (string, string) {
	s := schemes[kind]
	if s.token {
		return s.signature, string(secret)
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return s.signature, s.prefix + hex.EncodeToString(mac.Sum(nil))
}
