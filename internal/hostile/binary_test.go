package hostile

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// binPath is the connscope command built once for every test in the
// package; buildErr says why it could not be built.
var (
	binPath  string
	buildErr error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "connscope-hostile-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "connscope")
	buildErr = build(binPath)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// build compiles ./cmd/connscope into out with the go command that runs
// the tests.
func build(out string) error {
	goCmd := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goCmd); err != nil {
		goCmd = "go"
	}
	cmd := exec.Command(goCmd, "build", "-o", out, "github.com/connscope/connscope/cmd/connscope")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build ./cmd/connscope: %w\n%s", err, stderr.Bytes())
	}
	return nil
}

// run is one finished run of the connscope binary.
type run struct {
	stdout, stderr []byte
	exitCode       int
	// maxRSSKB is the child's peak resident set in KiB (Linux ru_maxrss).
	maxRSSKB int64
	cpu      time.Duration // user + system
}

// connscope runs the built binary with args and waits for it.
func connscope(t testing.TB, args ...string) run {
	t.Helper()
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	cmd := exec.Command(binPath, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Env = append(os.Environ(), "NO_COLOR=") // unset by value: --color decides
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("connscope %q: %v", args, err)
	}
	r := run{stdout: stdout.Bytes(), stderr: stderr.Bytes(), exitCode: cmd.ProcessState.ExitCode()}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.maxRSSKB = ru.Maxrss
	}
	r.cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	if bytes.Contains(r.stderr, []byte("panic:")) || bytes.Contains(r.stderr, []byte("goroutine ")) {
		t.Fatalf("connscope %q panicked:\n%s", args, r.stderr)
	}
	return r
}

// rssCapMB is the documented peak-RSS cap (256 MB) or
// $CONNSCOPE_HOSTILE_RSS_MB.
func rssCapMB(t testing.TB) int64 {
	if v := os.Getenv("CONNSCOPE_HOSTILE_RSS_MB"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			t.Fatalf("CONNSCOPE_HOSTILE_RSS_MB=%q: want a positive number of MB", v)
		}
		return n
	}
	return DefaultRSSCapMB
}

// fullSize reports whether the tests run the full sizes: only
// when asked with CONNSCOPE_HOSTILE_FULL=1 and not in -short mode.
func fullSize() bool {
	return !testing.Short() && os.Getenv("CONNSCOPE_HOSTILE_FULL") == "1"
}

// writeCapture writes scenario s at size n into dir and returns its path.
func writeCapture(t testing.TB, dir string, s Scenario, n int) string {
	t.Helper()
	name := filepath.Join(dir, fmt.Sprintf("%s-%d.pcap", s.Name, n))
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Write(f, n); err != nil {
		f.Close()
		t.Fatalf("writing %s: %v", name, err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return name
}
