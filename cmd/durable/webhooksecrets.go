package main

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/durable-delivery/durable/internal/hostfile"
	"github.com/durable-delivery/durable/server/webhook"
)

// maxWebhookSecret bounds a webhook secret file: a secret is one line.
const maxWebhookSecret = 4 << 10

// loadWebhookSecrets reads the --webhook-secret-file KIND=FILE flags: one file
// per kind, readable and writable by the reconciler's user alone (as ssh
// wants of a private key), holding the secret on one line (white space
// around it, a final newline, is not part of it).
func loadWebhookSecrets(specs []string) (map[webhook.Kind][]byte, error) {
	secrets := map[webhook.Kind][]byte{}
	for _, spec := range specs {
		name, file, ok := strings.Cut(spec, "=")
		kind, known := webhook.ParseKind(name)
		if !ok || file == "" || !known {
			return nil, usageError{fmt.Errorf("--webhook-secret-file %q: write KIND=FILE, KIND one of %s", spec, webhook.KindList())}
		}
		if secrets[kind] != nil {
			return nil, usageError{fmt.Errorf("--webhook-secret-file %s: given twice; a receiver has one secret", kind)}
		}
		secret, err := readWebhookSecret(file)
		if err != nil {
			return nil, fmt.Errorf("--webhook-secret-file %s=%s: %w", kind, file, err)
		}
		secrets[kind] = secret
	}
	return secrets, nil
}

func readWebhookSecret(file string) ([]byte, error) {
	b, err := hostfile.ReadSecret(file, "webhook secret file", "replace the secret and sign deliveries of their own", maxWebhookSecret)
	if err != nil {
		return nil, err
	}
	secret := bytes.TrimSpace(b)
	if bytes.ContainsAny(secret, "\r\n") {
		return nil, fmt.Errorf("more than one line: the file holds the secret alone, on one line")
	}
	if err := webhook.CheckSecret(secret); err != nil {
		return nil, err
	}
	return secret, nil
}
