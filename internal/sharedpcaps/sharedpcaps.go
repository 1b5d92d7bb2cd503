// Package sharedpcaps finds, for the tests of any package, the public
// captures other people recorded that connscope's results are checked
// against: the directory named by $CONNSCOPE_SHARED_PCAPS, or else
// shared/pcaps beside the module's directory (../shared/pcaps from the
// repository's root). Tests skip what is not there, so a checkout without
// the captures still passes.
package sharedpcaps

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// Dir returns the directory of the shared captures (which may not exist).
func Dir() string {
	if d := os.Getenv("CONNSCOPE_SHARED_PCAPS"); d != "" {
		return d
	}
	_, file, _, ok := runtime.Caller(0) // .../internal/sharedpcaps/sharedpcaps.go
	if !ok {
		return filepath.Join("..", "shared", "pcaps")
	}
	root := filepath.Dir(filepath.Dir(filepath.Dir(file)))
	return filepath.Join(filepath.Dir(root), "shared", "pcaps")
}

// Path returns the path of the shared capture called name, and skips the
// test when it is absent.
func Path(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(Dir(), name)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared capture %s not found (in %s; set CONNSCOPE_SHARED_PCAPS)", name, Dir())
	}
	return p
}
