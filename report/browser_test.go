package report

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/connscope/connscope/analysis"
)

// chromiumPath finds a Chromium to drive headless, "" when there is none.
func chromiumPath() string {
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// browserPage is one report the browser test loads.
type browserPage struct {
	name   string
	report *analysis.Report
}

// TestHTMLInBrowser loads HTML reports in headless Chromium: the report of
// a real capture, and the hand-made report full of hostile text. For each
// it reads the DOM after the page's script ran and wants no script error
// (the page records errors in data-js-error; Chromium's log must hold no
// "Uncaught"), a waterfall with one bar per transaction of the drawn
// connections (data-rendered), and at least one time-sequence graph. It
// keeps a screenshot for a person to look at: in the test's temporary
// directory, in testdata/golden-report with -update, and in
// $CONNSCOPE_SCREENSHOT_DIR when set (for CI artifacts).
func TestHTMLInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	chromium := chromiumPath()
	if chromium == "" {
		t.Skip("no chromium at /usr/bin/chromium or on PATH (apt-get install chromium); browser test skipped")
	}
	pages := []browserPage{{"handmade", fixtureReport()}}
	if paths := realCaptures(); len(paths) > 0 {
		base := strings.TrimSuffix(filepath.Base(paths[0]), filepath.Ext(paths[0]))
		pages = append(pages, browserPage{base, analyzeCaptureFile(t, paths[0])})
	}
	for _, p := range pages {
		p := p
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			checkInBrowser(t, chromium, p)
		})
	}
}

var (
	renderedAttr = regexp.MustCompile(`id="waterfall"[^>]*data-rendered="(\d+) bars"|data-rendered="(\d+) bars"[^>]*id="waterfall"`)
	graphsAttr   = regexp.MustCompile(`data-graphs="(\d+)"`)
	jsErrorAttr  = regexp.MustCompile(`data-js-error="([^"]*)"`)
	drawMSAttr   = regexp.MustCompile(`data-draw-ms="(\d+)"`)
	overviewAttr = regexp.MustCompile(`id="overview" data-rendered="(\d+) rows"`)
)

func checkInBrowser(t *testing.T, chromium string, p browserPage) {
	dir := t.TempDir()
	htmlPath := filepath.Join(dir, p.name+".html")
	var b bytes.Buffer
	if err := WriteHTML(&b, p.report, HTMLOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(htmlPath, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(dir, p.name+".png")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run",
		"--user-data-dir="+filepath.Join(dir, "profile"),
		"--enable-logging=stderr", "--v=0", "--virtual-time-budget=5000",
		"--hide-scrollbars", "--window-size=1400,1800", "--screenshot="+shot,
		"--dump-dom", "file://"+htmlPath)
	cmd.Dir = dir // Chromium may drop files in its working directory
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, tail(stderr.String(), 3000))
	}
	dom := stdout.String()
	if m := jsErrorAttr.FindStringSubmatch(dom); m != nil {
		t.Errorf("the page's script failed: %s", m[1])
	}
	for _, line := range strings.Split(stderr.String(), "\n") {
		if strings.Contains(line, "Uncaught") || strings.Contains(line, "CONSOLE") && strings.Contains(line, "rror") {
			t.Errorf("console error: %s", line)
		}
	}
	m := renderedAttr.FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("the waterfall was not rendered (no data-rendered on #waterfall); DOM:\n%s", tail(dom, 2000))
	}
	bars, _ := strconv.Atoi(m[1] + m[2])
	if want := len(p.report.Transactions); bars != want {
		t.Errorf("waterfall drew %d bars, want one per transaction (%d)", bars, want)
	}
	if n := len(p.report.Connections); n > 1 {
		o := overviewAttr.FindStringSubmatch(dom)
		if o == nil || o[1] != strconv.Itoa(n) {
			t.Errorf("overview drew %v rows, want one per connection (%d)", o, n)
		}
	}
	if g := graphsAttr.FindStringSubmatch(dom); g == nil || g[1] == "0" {
		t.Errorf("no time-sequence graph drawn (data-graphs %v)", g)
	}
	if !strings.Contains(dom, "<svg") {
		t.Errorf("no SVG in the rendered DOM")
	}
	png, err := os.ReadFile(shot)
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Fatalf("no screenshot: %v", err)
	}
	if *update {
		if err := os.WriteFile(filepath.Join(goldenDir, "browser-"+p.name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// CI can keep the screenshots as artifacts.
	if dir := os.Getenv("CONNSCOPE_SCREENSHOT_DIR"); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "browser-"+p.name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if m := drawMSAttr.FindStringSubmatch(dom); m != nil {
		t.Logf("the page drew its graphs in %s ms", m[1])
	}
	t.Logf("screenshot: %s (%d bytes)", shot, len(png))
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
