// Package depcheck holds tests about the module's dependency graph.
package depcheck

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLibrariesStayFree checks that library packages import neither the
// flag parser nor the colour library: those belong to the command line, so
// the analysis can be embedded anywhere (the way tailscale's deps_test.go
// guards its binaries).
func TestLibrariesStayFree(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go tool not on PATH")
	}
	libs := []string{
		"github.com/connscope/connscope/capture/...",
		"github.com/connscope/connscope/reassembly/...",
		"github.com/connscope/connscope/httpflow/...",
		"github.com/connscope/connscope/diagnose/...",
		"github.com/connscope/connscope/analysis/...",
		"github.com/connscope/connscope/report/...",
		"github.com/connscope/connscope/internal/textsafe/...",
	}
	forbidden := []string{"github.com/spf13/pflag", "github.com/fatih/color"}
	args := append([]string{"list", "-deps", "-f", "{{.ImportPath}}"}, libs...)
	out, err := exec.Command("go", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if dep == f || strings.HasPrefix(dep, f+"/") {
				t.Errorf("a library package depends on %s; only cmd/ may", dep)
			}
		}
	}
}

// TestPureGoBuild checks that the default build needs no cgo.
func TestPureGoBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the module")
	}
	cmd := exec.Command("go", "build", "-o", t.TempDir()+"/connscope", "github.com/connscope/connscope/cmd/connscope")
	cmd.Env = append(cmd.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=0 go build failed: %v\n%s", err, out)
	}
}
