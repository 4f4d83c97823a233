package schema

import (
	"bytes"
	"fmt"
	"io/fs"
	"path"
	"slices"

	"cuelang.org/go/cue"
)

// readSopsFiles reads the SOPS files the user's services refer to, from the
// same revision as the desired state, so that the reconciler decrypts exactly
// what was committed. Each must be a regular file of the repository (a link
// out of the tree is refused), within MaxFileBytes, and carry SOPS metadata;
// its values are not looked at here. It returns the files by cleaned path.
func readSopsFiles(fsys fs.FS, checkLink linkCheck, services fields, x *explainer) (map[string][]byte, Errors) {
	var errs Errors
	read := map[string][]byte{}
	failed := map[string]error{}
	for _, svc := range services.names {
		at := []cue.Selector{cue.Str("services"), cue.Str(svc), cue.Str("run"), cue.Str("secretEnv")}
		secrets := fieldsAt(services.values[svc].LookupPath(cue.MakePath(at[2:]...)))
		for _, env := range secrets.names {
			p := append(slices.Clone(at), cue.Str(env), cue.Str("sops"), cue.Str("file"))
			name, err := secrets.values[env].LookupPath(cue.MakePath(cue.Str("sops"), cue.Str("file"))).String()
			if err != nil {
				continue
			}
			file := path.Clean(name)
			if _, ok := read[file]; ok {
				continue
			}
			err = failed[file]
			if err == nil {
				var data []byte
				if data, err = readSopsFile(fsys, checkLink, file); err == nil {
					read[file] = data
					continue
				}
				failed[file] = err
			}
			errs = append(errs, x.errorAt(p, fmt.Sprintf("%s: %s %v", pathString(p), file, err)))
		}
	}
	return read, errs
}

// attachSopsFiles gives each SOPS reference of ds its file's bytes, as
// read gives them by cleaned path.
func attachSopsFiles(ds *DesiredState, read func(file string) ([]byte, error)) error {
	for _, svc := range ds.Services {
		for _, ref := range svc.Run.SecretEnv {
			if ref.Sops == nil {
				continue
			}
			var err error
			if ref.Sops.Ciphertext, err = read(path.Clean(ref.Sops.File)); err != nil {
				return Errors{{File: ref.Sops.File, Message: err.Error()}}
			}
		}
	}
	return nil
}

// fromMap reads files from what readSopsFiles read.
func fromMap(files map[string][]byte) func(string) ([]byte, error) {
	return func(file string) ([]byte, error) { return files[file], nil }
}

// checkBeyondSchema runs, on the evaluated value v, the checks CUE cannot
// express and reads the SOPS files v names, by cleaned path.
func (p *packages) checkBeyondSchema(v cue.Value, x *explainer) (map[string][]byte, Errors) {
	services := servicesOf(v)
	errs := check(v, services, x)
	files, sopsErrs := readSopsFiles(p.fsys, p.checkLink, services, x)
	return files, append(errs, sopsErrs...)
}

// readSopsFile reads one SOPS file of the repository.
func readSopsFile(fsys fs.FS, checkLink linkCheck, name string) ([]byte, error) {
	if !fs.ValidPath(name) || name == "." {
		return nil, fmt.Errorf("is not a path inside the repository; write it from the repository root, e.g. \"secrets/web.enc.yaml\"")
	}
	if _, err := fs.Lstat(fsys, name); err != nil {
		return nil, fmt.Errorf("is not in the repository; encrypt the file with sops and commit it there")
	}
	if checkLink != nil {
		if err := checkLink(name); err != nil {
			return nil, err
		}
	}
	data, err := readSource(fsys, name)
	if err != nil {
		return nil, err
	}
	if !bytes.Contains(data, []byte("sops")) || !bytes.Contains(data, []byte("mac")) {
		return nil, fmt.Errorf("has no SOPS metadata; encrypt it with sops (sops --encrypt --age RECIPIENT --in-place %s) before committing it", name)
	}
	return data, nil
}
