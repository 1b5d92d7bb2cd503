package sharedpcaps

import (
	"os"
	"path/filepath"
	"testing"
)

// Dir is the environment's directory when set, else shared/pcaps beside
// the module's directory, wherever the test runs from.
func TestDir(t *testing.T) {
	t.Setenv("CONNSCOPE_SHARED_PCAPS", "/elsewhere")
	if d := Dir(); d != "/elsewhere" {
		t.Errorf("Dir() = %q with CONNSCOPE_SHARED_PCAPS set, want /elsewhere", d)
	}
	t.Setenv("CONNSCOPE_SHARED_PCAPS", "")
	wd, err := os.Getwd() // .../internal/sharedpcaps
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(filepath.Dir(filepath.Dir(filepath.Dir(wd))), "shared", "pcaps")
	if d := Dir(); d != want {
		t.Errorf("Dir() = %q, want %q", d, want)
	}
}
