package report

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/connscope/connscope/analysis"
	"github.com/connscope/connscope/httpflow"
)

// TestHARCookies checks that cookies sent in Cookie headers and set by
// Set-Cookie headers appear as HAR cookie objects (HAR 1.2, "cookies"),
// attributes and all, and that the document stays valid HAR.
func TestHARCookies(t *testing.T) {
	r := fixtureReport()
	var tx *analysis.TxnReport
	for _, x := range r.Transactions {
		if x.Request != nil && x.Response != nil {
			tx = x
			break
		}
	}
	if tx == nil {
		t.Fatal("the fixture has no complete transaction")
	}
	tx.RequestHeaders = append(tx.RequestHeaders,
		httpflow.Header{Name: "Cookie", Value: "session=abc123; theme=dark"},
		httpflow.Header{Name: "cookie", Value: ` lang="en" ;; flag`})
	tx.ResponseHeaders = append(tx.ResponseHeaders,
		httpflow.Header{Name: "Set-Cookie", Value: "session=xyz; Path=/app; Domain=example.test; Expires=Wed, 21 Oct 2026 07:28:00 GMT; Secure; HttpOnly"},
		httpflow.Header{Name: "Set-Cookie", Value: "plain=1"},
		httpflow.Header{Name: "Set-Cookie", Value: "odd=2; Expires=not a date"},
		httpflow.Header{Name: "set-cookie", Value: "dash=3; expires=Fri, 01-Jan-2027 00:00:00 GMT; secure"})
	var b bytes.Buffer
	if err := WriteHAR(&b, r, HAROptions{}); err != nil {
		t.Fatal(err)
	}
	if errs := checkHAR(b.Bytes()); len(errs) > 0 {
		t.Fatalf("not valid HAR: %v", errs)
	}
	var doc struct {
		Log struct {
			Entries []struct {
				Request struct {
					Cookies []map[string]any `json:"cookies"`
				} `json:"request"`
				Response struct {
					Cookies []map[string]any `json:"cookies"`
				} `json:"response"`
			} `json:"entries"`
		} `json:"log"`
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	e := doc.Log.Entries[0]
	wantRequest := []map[string]any{
		{"name": "session", "value": "abc123"},
		{"name": "theme", "value": "dark"},
		{"name": "lang", "value": `"en"`},
		{"name": "", "value": "flag"}, // no "=": a value without a name (RFC 6265bis 5.6)
	}
	if !sameCookies(e.Request.Cookies, wantRequest) {
		t.Errorf("request cookies\n got %v\nwant %v", e.Request.Cookies, wantRequest)
	}
	wantResponse := []map[string]any{
		{"name": "session", "value": "xyz", "path": "/app", "domain": "example.test",
			"expires": "2026-10-21T07:28:00Z", "secure": true, "httpOnly": true},
		{"name": "plain", "value": "1"},
		{"name": "odd", "value": "2"},
		{"name": "dash", "value": "3", "expires": "2027-01-01T00:00:00Z", "secure": true},
	}
	if !sameCookies(e.Response.Cookies, wantResponse) {
		t.Errorf("response cookies\n got %v\nwant %v", e.Response.Cookies, wantResponse)
	}
}

func sameCookies(got, want []map[string]any) bool {
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	return bytes.Equal(g, w)
}
