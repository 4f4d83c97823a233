package sops

import (
	"regexp"
	"strings"
)

// cryptRules are the metadata's choice of which values are encrypted: at
// most one rule, the unencrypted suffix "_unencrypted" when the file names
// none.
type cryptRules struct {
	unencryptedSuffix       string
	encryptedSuffix         string
	unencryptedRegex        string
	encryptedRegex          string
	unencryptedCommentRegex string
	encryptedCommentRegex   string

	// The regular expressions compiled; nil for one that does not compile,
	// which, as in SOPS, then matches nothing.
	unencryptedRe, encryptedRe, unencryptedCommentRe, encryptedCommentRe *regexp.Regexp
}

// check refuses more than one rule, and sets the default.
func (r *cryptRules) check() error {
	n := 0
	for _, s := range []string{r.unencryptedSuffix, r.encryptedSuffix, r.unencryptedRegex, r.encryptedRegex, r.unencryptedCommentRegex, r.encryptedCommentRegex} {
		if s != "" {
			n++
		}
	}
	switch {
	case n > 1:
		return &metadataError{"it names more than one of encrypted_suffix, unencrypted_suffix, encrypted_regex, unencrypted_regex, encrypted_comment_regex, unencrypted_comment_regex"}
	case n == 0:
		r.unencryptedSuffix = defaultUnencryptedSuffix
	}
	compile := func(expr string) *regexp.Regexp {
		if expr == "" {
			return nil
		}
		re, _ := regexp.Compile(expr)
		return re
	}
	r.unencryptedRe = compile(r.unencryptedRegex)
	r.encryptedRe = compile(r.encryptedRegex)
	r.unencryptedCommentRe = compile(r.unencryptedCommentRegex)
	r.encryptedCommentRe = compile(r.encryptedCommentRegex)
	return nil
}

// encrypted says whether the value at path (its keys from the root, list
// positions left out) is encrypted, as SOPS decides: comments holds, for
// each level of the path, the comments read since the level's last value;
// isComment says the value is itself a comment, the last one there.
func (r *cryptRules) encrypted(path []string, comments [][]string, isComment bool) bool {
	enc := true
	anyKey := func(match func(string) bool) bool {
		for _, k := range path {
			if match(k) {
				return true
			}
		}
		return false
	}
	matches := func(re *regexp.Regexp) func(string) bool {
		return func(s string) bool { return re != nil && re.MatchString(s) }
	}
	if r.unencryptedSuffix != "" && anyKey(func(k string) bool { return strings.HasSuffix(k, r.unencryptedSuffix) }) {
		enc = false
	}
	if r.encryptedSuffix != "" {
		enc = anyKey(func(k string) bool { return strings.HasSuffix(k, r.encryptedSuffix) })
	}
	if r.unencryptedRegex != "" && anyKey(matches(r.unencryptedRe)) {
		enc = false
	}
	if r.encryptedRegex != "" {
		enc = anyKey(matches(r.encryptedRe))
	}
	if r.unencryptedCommentRegex != "" && anyComment(comments, false, matches(r.unencryptedCommentRe)) {
		enc = false
	}
	if r.encryptedCommentRegex != "" {
		// A comment that marks the next value encrypted is not itself.
		enc = anyComment(comments, isComment, matches(r.encryptedCommentRe))
	}
	return enc
}

// anyComment says whether a comment of comments matches; skipLast leaves
// out the last comment of the innermost level.
func anyComment(comments [][]string, skipLast bool, match func(string) bool) bool {
	for i, level := range comments {
		for j, c := range level {
			if skipLast && i == len(comments)-1 && j == len(level)-1 {
				continue
			}
			if match(c) {
				return true
			}
		}
	}
	return false
}
