package report

import (
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"time"
)

// checkHAR validates a document against the HAR 1.2 structure
// (http://www.softwareishard.com/blog/har-12-spec/): every required field
// present with its type, send/wait/receive non-negative, optional timings
// -1 or more, time equal to the sum of the timings that apply, dates in
// ISO 8601, URLs absolute. It returns every violation, as paths.
func checkHAR(doc []byte) []string {
	var root any
	if err := json.Unmarshal(doc, &root); err != nil {
		return []string{"not JSON: " + err.Error()}
	}
	c := &harChecker{}
	log := c.object(root, "$", "log")
	if log == nil {
		return c.errs
	}
	if v, _ := log["version"].(string); v != "1.2" {
		c.errf("log.version is %v, want \"1.2\"", log["version"])
	}
	if cr := c.object(log, "log", "creator"); cr != nil {
		c.str(cr, "log.creator", "name")
		c.str(cr, "log.creator", "version")
	}
	c.optional(log, "log", "comment", "string")
	pageIDs := map[string]bool{}
	if pages, ok := log["pages"]; ok {
		list, ok := pages.([]any)
		if !ok {
			c.errf("log.pages is not an array")
		}
		for i, x := range list {
			p := fmt.Sprintf("log.pages[%d]", i)
			pg, ok := x.(map[string]any)
			if !ok {
				c.errf("%s is not an object", p)
				continue
			}
			if started := c.str(pg, p, "startedDateTime"); started != "" {
				if _, err := time.Parse(time.RFC3339Nano, started); err != nil {
					c.errf("%s.startedDateTime %q is not ISO 8601", p, started)
				}
			}
			pageIDs[c.str(pg, p, "id")] = true
			c.str(pg, p, "title")
			c.object(pg, p, "pageTimings")
			c.optional(pg, p, "comment", "string")
		}
	}
	entries := c.array(log, "log", "entries")
	for i, e := range entries {
		p := fmt.Sprintf("log.entries[%d]", i)
		entry, ok := e.(map[string]any)
		if !ok {
			c.errf("%s is not an object", p)
			continue
		}
		c.checkEntry(entry, p)
		if ref, ok := entry["pageref"].(string); ok && !pageIDs[ref] {
			c.errf("%s.pageref %q names no page", p, ref)
		}
	}
	return c.errs
}

type harChecker struct{ errs []string }

func (c *harChecker) errf(format string, args ...any) {
	c.errs = append(c.errs, fmt.Sprintf(format, args...))
}

func (c *harChecker) object(parent any, path, name string) map[string]any {
	m, ok := parent.(map[string]any)
	if !ok {
		c.errf("%s is not an object", path)
		return nil
	}
	v, ok := m[name].(map[string]any)
	if !ok {
		c.errf("%s.%s: required object missing or of the wrong type (%T)", path, name, m[name])
		return nil
	}
	return v
}

func (c *harChecker) array(m map[string]any, path, name string) []any {
	v, ok := m[name].([]any)
	if !ok {
		c.errf("%s.%s: required array missing or of the wrong type (%T)", path, name, m[name])
	}
	return v
}

func (c *harChecker) str(m map[string]any, path, name string) string {
	v, ok := m[name].(string)
	if !ok {
		c.errf("%s.%s: required string missing or of the wrong type (%T)", path, name, m[name])
	}
	return v
}

func (c *harChecker) num(m map[string]any, path, name string) float64 {
	v, ok := m[name].(float64)
	if !ok {
		c.errf("%s.%s: required number missing or of the wrong type (%T)", path, name, m[name])
		return math.NaN()
	}
	return v
}

func (c *harChecker) optional(m map[string]any, path, name, typ string) {
	v, present := m[name]
	if !present {
		return
	}
	ok := false
	switch typ {
	case "string":
		_, ok = v.(string)
	case "number":
		_, ok = v.(float64)
	}
	if !ok {
		c.errf("%s.%s: optional %s of the wrong type (%T)", path, name, typ, v)
	}
}

// pairs checks an array of {name, value} objects (headers, queryString,
// cookies).
func (c *harChecker) pairs(m map[string]any, path, name string) {
	for i, x := range c.array(m, path, name) {
		p := fmt.Sprintf("%s.%s[%d]", path, name, i)
		o, ok := x.(map[string]any)
		if !ok {
			c.errf("%s is not an object", p)
			continue
		}
		c.str(o, p, "name")
		c.str(o, p, "value")
	}
}

func (c *harChecker) checkEntry(e map[string]any, p string) {
	started := c.str(e, p, "startedDateTime")
	if _, err := time.Parse(time.RFC3339Nano, started); started != "" && err != nil {
		c.errf("%s.startedDateTime %q is not ISO 8601: %v", p, started, err)
	}
	total := c.num(e, p, "time")
	c.optional(e, p, "serverIPAddress", "string")
	c.optional(e, p, "connection", "string")
	c.optional(e, p, "comment", "string")
	c.optional(e, p, "pageref", "string")
	if q := c.object(e, p, "request"); q != nil {
		rp := p + ".request"
		c.str(q, rp, "method")
		u := c.str(q, rp, "url")
		if parsed, err := url.Parse(u); err != nil || !parsed.IsAbs() || parsed.Host == "" {
			c.errf("%s.url %q is not an absolute URL (%v)", rp, u, err)
		}
		c.str(q, rp, "httpVersion")
		c.pairs(q, rp, "cookies")
		c.pairs(q, rp, "headers")
		c.pairs(q, rp, "queryString")
		if c.num(q, rp, "headersSize") < -1 || c.num(q, rp, "bodySize") < -1 {
			c.errf("%s: sizes must be -1 or more", rp)
		}
	}
	if s := c.object(e, p, "response"); s != nil {
		sp := p + ".response"
		c.num(s, sp, "status")
		c.str(s, sp, "statusText")
		c.str(s, sp, "httpVersion")
		c.pairs(s, sp, "cookies")
		c.pairs(s, sp, "headers")
		if ct := c.object(s, sp, "content"); ct != nil {
			c.num(ct, sp+".content", "size")
			c.str(ct, sp+".content", "mimeType")
		}
		c.str(s, sp, "redirectURL")
		if c.num(s, sp, "headersSize") < -1 || c.num(s, sp, "bodySize") < -1 {
			c.errf("%s: sizes must be -1 or more", sp)
		}
	}
	c.object(e, p, "cache")
	t := c.object(e, p, "timings")
	if t == nil {
		return
	}
	tp := p + ".timings"
	sum := 0.0
	for _, name := range []string{"send", "wait", "receive"} {
		v := c.num(t, tp, name)
		if v < 0 {
			c.errf("%s.%s = %v: must be non-negative", tp, name, v)
		}
		sum += v
	}
	for _, name := range []string{"blocked", "dns", "connect", "ssl"} {
		v, present := t[name]
		if !present {
			continue
		}
		f, ok := v.(float64)
		if !ok || f < -1 {
			c.errf("%s.%s = %v: must be a number, -1 or more", tp, name, v)
			continue
		}
		// ssl is included in connect, so it is not added again.
		if f >= 0 && name != "ssl" {
			sum += f
		}
	}
	if math.Abs(sum-total) > 0.0015 {
		c.errf("%s.time = %v but the timings add up to %v", p, total, sum)
	}
}
