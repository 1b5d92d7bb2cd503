package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
)

func renderHTML(t *testing.T, opts HTMLOptions) string {
	t.Helper()
	var b bytes.Buffer
	if err := WriteHTML(&b, fixtureReport(), opts); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// Tags and attributes the page may contain; anything else in the output
// must have come from captured text.
var (
	allowedTags = map[string]bool{
		"html": true, "head": true, "meta": true, "title": true, "style": true, "body": true, "header": true,
		"h1": true, "h2": true, "h3": true, "p": true, "nav": true, "a": true, "main": true, "section": true,
		"div": true, "small": true, "span": true, "table": true, "thead": true, "tbody": true, "tr": true,
		"th": true, "td": true, "details": true, "summary": true, "b": true, "label": true, "select": true,
		"option": true, "i": true, "noscript": true, "footer": true, "script": true,
	}
	allowedAttrs = map[string]bool{
		"lang": true, "charset": true, "name": true, "content": true, "http-equiv": true, "class": true,
		"href": true, "id": true, "title": true, "open": true, "value": true, "data-conn": true,
		"data-rendered": true, "type": true,
	}
	tagName  = regexp.MustCompile(`^</?([a-zA-Z][a-zA-Z0-9]*)`)
	attrExpr = regexp.MustCompile(`^\s+([^\s"'>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>` + "`" + `]+)))?`)
)

// scanHTML is a small tokenizer for the page's own markup: it walks every
// tag, checks names and attributes against the allow lists, skips the raw
// text of script and style (returning their contents), and fails on any
// '<' that does not start an allowed tag.
func scanHTML(page string) (scripts, scriptAttrs, styles, problems []string) {
	errorf := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	rest := page
	if !strings.HasPrefix(rest, "<!DOCTYPE html>") {
		errorf("page does not start with the doctype")
		return
	}
	rest = rest[len("<!DOCTYPE html>"):]
	for {
		i := strings.IndexByte(rest, '<')
		if i < 0 {
			return
		}
		rest = rest[i:]
		m := tagName.FindStringSubmatch(rest)
		if m == nil {
			errorf("a '<' that starts no tag: %q", excerpt(rest))
			rest = rest[1:]
			continue
		}
		name := strings.ToLower(m[1])
		if !allowedTags[name] {
			errorf("unexpected tag <%s>: %q", name, excerpt(rest))
		}
		closing := strings.HasPrefix(rest, "</")
		rest = rest[len(m[0]):]
		var attrs []string
		for {
			a := attrExpr.FindStringSubmatch(rest)
			if a == nil {
				break
			}
			attr := strings.ToLower(a[1])
			value := a[2] + a[3] + a[4]
			attrs = append(attrs, a[0])
			if !allowedAttrs[attr] || strings.HasPrefix(attr, "on") {
				errorf("unexpected attribute %q on <%s>", attr, name)
			}
			v := strings.ToLower(strings.TrimSpace(value))
			if strings.HasPrefix(v, "javascript:") || strings.HasPrefix(v, "data:") && attr == "href" {
				errorf("attribute %s=%q on <%s> is a script URL", attr, value, name)
			}
			if attr == "href" && !strings.HasPrefix(value, "#") {
				errorf("link to %q leaves the page", value)
			}
			rest = rest[len(a[0]):]
		}
		rest = strings.TrimLeft(rest, " \n\t/")
		if !strings.HasPrefix(rest, ">") {
			errorf("tag <%s> is not closed where expected: %q", name, excerpt(rest))
			continue
		}
		rest = rest[1:]
		if closing || (name != "script" && name != "style") {
			continue
		}
		end := strings.Index(strings.ToLower(rest), "</"+name)
		if end < 0 {
			errorf("<%s> never closed", name)
			return
		}
		if name == "script" {
			body, attr := rest[:end], strings.Join(attrs, "")
			isData := attr == ` type="application/json" id="connscope-data"` && len(scripts) == 0
			isCode := attr == "" && body == reportJS && len(scripts) == 1
			if !isData && !isCode {
				errorf("a script element that is not the page's own: <script%s>%s", attr, excerpt(body))
			}
			scripts = append(scripts, body)
			scriptAttrs = append(scriptAttrs, attr)
		} else {
			styles = append(styles, rest[:end])
		}
		rest = rest[end:]
	}
}

func excerpt(s string) string {
	if len(s) > 80 {
		return s[:80]
	}
	return s
}

// TestHTMLCapturedTextIsInert renders a report whose targets, header
// values, reason phrase, finding messages and input name carry markup,
// attribute breakouts, script URLs, NUL and terminal escapes, and checks
// that none of it survives as markup: the only tags are the page's own,
// the only scripts its two (the JSON data and its own code, byte for
// byte), no event-handler attributes, no script URLs, no raw control
// bytes, and the hostile text is still shown, escaped.
func TestHTMLCapturedTextIsInert(t *testing.T) {
	page := renderHTML(t, HTMLOptions{})
	scripts, scriptAttrs, styles, problems := scanHTML(page)
	for _, p := range problems {
		t.Error(p)
	}
	if len(scripts) != 2 {
		t.Fatalf("%d script elements, want 2 (data and code)", len(scripts))
	}
	if !strings.Contains(scriptAttrs[0], `type="application/json"`) || scriptAttrs[1] != "" {
		t.Errorf("script attributes %q", scriptAttrs)
	}
	if scripts[1] != reportJS {
		t.Errorf("the page's code script differs from report.js: something was injected")
	}
	if strings.ContainsAny(scripts[0], "<>&") {
		t.Errorf("the JSON data holds a raw <, > or &; it could close its script element")
	}
	if len(styles) != 1 || styles[0] != reportCSS {
		t.Errorf("style elements differ from report.css")
	}
	for i := 0; i < len(page); i++ {
		if c := page[i]; c < 0x20 && c != '\n' && c != '\t' || c == 0x7f {
			t.Fatalf("raw control byte %#x at offset %d: %q", c, i, excerpt(page[max(0, i-40):]))
		}
	}
	// "onerror=" itself may appear as escaped text (&lt;img ... onerror=);
	// scanHTML has checked that no tag carries it.
	for _, bad := range []string{"<script>alert", "<img", "\u202e"} {
		if strings.Contains(page, bad) {
			t.Errorf("page contains %q unescaped", bad)
		}
	}
	// The hostile text is shown, made visible, not silently dropped.
	for _, want := range []string{
		"&lt;script&gt;alert(1)&lt;/script&gt;",
		`&#34;&gt;&lt;img src=x onerror=alert(2)&gt;`,
		`a\x00b\x1b[31mred\x1b]0;title\x07\u202e`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page does not show %q", want)
		}
	}

	// The chart data round-trips: hostile text arrives in JS as text.
	var data chartData
	if err := json.Unmarshal([]byte(scripts[0]), &data); err != nil {
		t.Fatalf("chart data is not JSON: %v", err)
	}
	found := false
	for _, c := range data.Conns {
		for _, tx := range c.Txns {
			if strings.Contains(tx.Label, hostileScript) && strings.Contains(tx.Detail, `\x1b[31m`) {
				found = true
			}
		}
	}
	if !found {
		t.Errorf("the hostile transaction label did not reach the chart data as text")
	}
}

// TestHTMLContent checks the summary and sections against the report.
func TestHTMLContent(t *testing.T) {
	page := renderHTML(t, HTMLOptions{Version: "v9.9"})
	for _, want := range []string{
		`<div class="num">1500.000 <small>ms</small></div><div class="lbl">capture duration</div>`,
		`<div class="num">3</div><div class="lbl">TCP connections</div>`,
		`<div class="num">4</div><div class="lbl">HTTP transactions</div>`,
		`<span class="badge error">1 error</span> <span class="badge warning">2 warning</span> <span class="badge info">2 info</span>`,
		`<div class="num">1003.500 <small>ms</small></div>`, // 1 + 1000 + 2.5
		`id="conn-1"`, `id="conn-2"`, `id="conn-3"`,
		`<a href="#conn-1">#1</a> <a href="#conn-3">#3</a>`, // the cross-connection finding links both
		"connscope v9.9",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// Rules are grouped most severe first.
	order := []string{"<b>CC3001</b>", "<b>CH2009</b>", "<b>CT1002</b>", "<b>CT1001</b>", "<b>ZZ9999</b>"}
	last := -1
	for _, r := range order {
		i := strings.Index(page, r)
		if i < 0 || i < last {
			t.Errorf("rule group %s missing or out of order", r)
		}
		last = i
	}
}

// TestHTMLConnectionCap checks that only MaxConnections get a waterfall
// while the table still lists all.
func TestHTMLConnectionCap(t *testing.T) {
	page := renderHTML(t, HTMLOptions{MaxConnections: 2, MaxSegments: 5})
	if strings.Contains(page, `id="conn-3"`) {
		t.Errorf("connection 3 drawn beyond the cap of 2")
	}
	if !strings.Contains(page, "1 more connection is listed in the table below but not drawn") {
		t.Errorf("page does not say, in the singular, that a connection was left out")
	}
	if two := renderHTML(t, HTMLOptions{MaxConnections: 1}); !strings.Contains(two, "2 more connections are listed in the table below but not drawn") {
		t.Errorf("page does not say that 2 connections were left out")
	}
	var data chartData
	i := strings.Index(page, `<script type="application/json" id="connscope-data">`)
	j := strings.Index(page[i:], "</script>")
	if err := json.Unmarshal([]byte(page[i+len(`<script type="application/json" id="connscope-data">`):i+j]), &data); err != nil {
		t.Fatal(err)
	}
	if len(data.Conns) != 2 || len(data.Conns[0].Segs) != 5 || data.Conns[0].Cut != 11 {
		t.Errorf("chart data: %d conns, %d segs, cut %d; want 2, 5, 11", len(data.Conns), len(data.Conns[0].Segs), data.Conns[0].Cut)
	}
}

// TestScanHTMLCatchesInjection feeds the tokenizer pages with markup
// injected the ways captured text would try, so the inertness test cannot
// pass by checking nothing.
func TestScanHTMLCatchesInjection(t *testing.T) {
	page := renderHTML(t, HTMLOptions{})
	anchor := "<td class=\"mono\">"
	if !strings.Contains(page, anchor) {
		t.Fatal("anchor not found; the template changed")
	}
	for _, inject := range []string{
		"<img src=x onerror=alert(1)>",
		"<script>alert(1)</script>",
		"<a href=\"javascript:alert(1)\">x</a>",
		"<div onclick=\"x\">",
		"<svg/onload=alert(1)>",
		"<iframe src=//evil>",
		"< script>",
	} {
		bad := strings.Replace(page, anchor, anchor+inject, 1)
		_, _, _, problems := scanHTML(bad)
		if len(problems) == 0 {
			t.Errorf("injected %q went unnoticed", inject)
		}
	}
	if _, _, _, problems := scanHTML(page); len(problems) != 0 {
		t.Errorf("clean page reported: %v", problems)
	}
}

// TestHTMLSegmentBudget: the page-wide segment budget cuts later
// connections, and each says how many of its segments are missing.
func TestHTMLSegmentBudget(t *testing.T) {
	r := fixtureReport()
	l, err := readHTMLListing(r)
	if err != nil {
		t.Fatal(err)
	}
	d := buildChartData(r, l, HTMLOptions{MaxConnections: -1, MaxSegments: -1, MaxTotalSegments: 20}, 0)
	got := []int{len(d.Conns[0].Segs), len(d.Conns[1].Segs), len(d.Conns[2].Segs)}
	cut := []int{d.Conns[0].Cut, d.Conns[1].Cut, d.Conns[2].Cut}
	if got[0] != 16 || got[1] != 4 || got[2] != 0 || cut[0] != 0 || cut[1] != 7 || cut[2] != 6 {
		t.Errorf("segments drawn %v, cut %v; want [16 4 0] and [0 7 6]", got, cut)
	}
}

// TestHTMLCloseNamesTheResetter: the connection table says who reset the
// connection when it is not the side that closed first.
func TestHTMLCloseNamesTheResetter(t *testing.T) {
	r := fixtureReport()
	r.Connections[1].ClosedFirstBy, r.Connections[1].RSTBy = "server", "client"
	var b bytes.Buffer
	if err := WriteHTML(&b, r, HTMLOptions{}); err != nil {
		t.Fatal(err)
	}
	if want := "<td>fin by server, rst by client</td>"; !strings.Contains(b.String(), want) {
		t.Errorf("page lacks %q", want)
	}
}
