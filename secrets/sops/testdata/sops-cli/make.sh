#!/bin/sh
# Encrypts the plaintext fixtures with the sops command to the throwaway age
# key of FuzzDecrypt (fuzzIdentity), for TestDecryptFilesTheSOPSCommandWrote.
# Run: ./make.sh /path/to/sops (sops 3.13.3 wrote the committed files).
# The plaintexts hold no secret.
set -eu
sops=${1:-sops}
to=age1ms72p8r44y3kh7sqeunx6dp57yusf6ue97n5s8ceyw4wvhxgnqts0n2ntk
cd "$(dirname "$0")"
rules=$(mktemp)
trap 'rm -f "$rules"' EXIT
# enc OUT IN [RULE]: encrypts IN to OUT under a creation rule with RULE, a
# line of .sops.yaml (mac_only_encrypted and the comment regexes have no
# flag).
enc() {
	printf 'creation_rules:\n  - age: %s\n' "$to" > "$rules"
	[ $# -lt 3 ] || printf '    %s\n' "$3" >> "$rules"
	"$sops" --config "$rules" encrypt "$2" > "$1"
}
enc plain.enc.yaml plain.yaml
enc regex.enc.yaml regex.yaml "encrypted_regex: ^secret"
enc unregex.enc.yaml regex.yaml "unencrypted_regex: ^pub"
enc suffix.enc.yaml regex.yaml "encrypted_suffix: _pw"
enc maconly.enc.yaml plain.yaml "mac_only_encrypted: true"
enc comments.enc.yaml comments.yaml "encrypted_comment_regex: sops:enc"
enc clearcomments.enc.yaml comments.yaml "unencrypted_comment_regex: sops:enc"
enc multi.enc.yaml multi.yaml
enc plain.enc.json plain.json
enc plain.enc.env plain.env
enc maconly.enc.env plain.env "mac_only_encrypted: true"
