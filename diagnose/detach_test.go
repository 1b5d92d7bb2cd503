package diagnose

import (
	"testing"
	"unsafe"

	"github.com/connscope/connscope/httpflow"
)

// TestDetachCopiesOutOfBuffers: a detached transaction keeps what callers
// render, shares no string bytes with the parser's buffer, and drops the
// header lists.
func TestDetachCopiesOutOfBuffers(t *testing.T) {
	slab := "GET/pathHTTP/1.1keep-alivetimeout=5100-continueh2c"
	req := &httpflow.Message{Method: slab[0:3], Target: slab[3:8], Version: slab[8:16],
		ConnectionTokens: []string{slab[16:26]}, Extra: &httpflow.MessageExtra{
			Headers:   []httpflow.Header{{Name: "Host", Value: "x"}},
			KeepAlive: slab[26:35], ProxyConnection: slab[16:26], Expect: slab[35:47], Upgrade: slab[47:50],
			Anomalies: []string{"obs_fold"}}}
	tx := &httpflow.Transaction{ID: 7, Connection: 3, Index: 2, Request: req, Pipelined: true}
	d := detach(tx)
	if d == tx || d.Request == req || d.ID != 7 || d.Connection != 3 || d.Index != 2 || !d.Pipelined {
		t.Fatalf("detach lost identity: %+v", d)
	}
	if d.Request.Method != "GET" || d.Request.Target != "/path" || d.Request.ConnectionTokens[0] != "keep-alive" {
		t.Errorf("detach changed text: %+v", d.Request)
	}
	if d.Request.Headers() != nil {
		t.Error("detach kept the header list")
	}
	if d.Request.Extra == req.Extra || d.Request.KeepAlive() != "timeout=5" || d.Request.ProxyConnection() != "keep-alive" ||
		d.Request.Expect() != "100-continue" || d.Request.Upgrade() != "h2c" || len(d.Request.Anomalies()) != 1 {
		t.Errorf("detach lost the rarer fields: %+v", d.Request.Extra)
	}
	lo, hi := uintptr(unsafe.Pointer(unsafe.StringData(slab))), uintptr(unsafe.Pointer(unsafe.StringData(slab)))+uintptr(len(slab))
	for _, s := range []string{d.Request.Method, d.Request.Target, d.Request.Version, d.Request.ConnectionTokens[0],
		d.Request.KeepAlive(), d.Request.ProxyConnection(), d.Request.Expect(), d.Request.Upgrade()} {
		if p := uintptr(unsafe.Pointer(unsafe.StringData(s))); p >= lo && p < hi {
			t.Errorf("%q still points into the parser's buffer", s)
		}
	}
	if detach(nil) != nil {
		t.Error("detach(nil) is not nil")
	}
}
