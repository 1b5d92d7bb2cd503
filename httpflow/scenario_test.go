package httpflow

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHTTPScenarioCaptures checks connscope's reading of the real-kernel
// HTTP captures in testdata/captures (issue 3; what each one holds is in
// testdata/captures/MANIFEST.md). The expectations hold however often the
// captures are regenerated: sizes and paths come from the request
// targets, not from the recording.
func TestHTTPScenarioCaptures(t *testing.T) {
	for _, tc := range []struct {
		file  string
		want  []string
		check func(t *testing.T, txns []*Transaction)
	}{
		{"pipeline-get.pcap", []string{
			"GET /pipe/1?size=1000&delay=30 HTTP/1.1 ok => 200 content_length ok body=1000 persistent",
			"GET /pipe/2?size=2000 HTTP/1.1 ok => 200 content_length ok body=2000 pipelined persistent",
			"GET /pipe/3?size=300 HTTP/1.1 ok => 200 content_length ok body=300 pipelined persistent",
		}, nil},
		{"pipeline-post.pcap", []string{
			"GET /pipe-post/1?size=500&delay=30 HTTP/1.1 ok => 200 content_length ok body=500 persistent",
			"POST /pipe-post/2?size=200 HTTP/1.1 ok body=300 => 200 content_length ok body=200 pipelined persistent",
			"GET /pipe-post/3?size=300 HTTP/1.1 ok => 200 content_length ok body=300 pipelined persistent",
		}, nil},
		{"expect-100-continue.pcap", []string{
			"POST /upload?size=100 HTTP/1.1 ok body=2000 => 100 ok 200 content_length ok body=100 persistent",
			"GET /after-upload?size=200 HTTP/1.1 ok => 200 content_length ok body=200 persistent",
		}, func(t *testing.T, txns []*Transaction) {
			tx := txns[0]
			if tx.Request.Expect() != "100-continue" || tx.Interim[0].Start > tx.Request.End || tx.Wait < 0 {
				t.Errorf("Expect %q; 100 at %d, request body done at %d; wait %d", tx.Request.Expect(), tx.Interim[0].Start, tx.Request.End, tx.Wait)
			}
		}},
		{"chunked-trailers.pcap", []string{
			"GET /chunked/1?chunked=1&trailer=1&ext=1&size=3000&chunk=1000 HTTP/1.1 ok => 200 chunked ok body=3000 persistent",
			"GET /chunked/2?chunked=1&size=500&chunk=200 HTTP/1.1 ok => 200 chunked ok body=500 persistent",
		}, func(t *testing.T, txns []*Transaction) {
			tr := txns[0].Response.Trailers()
			if len(tr) != 1 || !strings.EqualFold(tr[0].Name, "X-Body-Lines") || tr[0].Value == "" || len(txns[1].Response.Trailers()) != 0 {
				t.Errorf("trailers %q and %q", tr, txns[1].Response.Trailers())
			}
		}},
		{"head-content-length.pcap", []string{
			"HEAD /head?size=5000 HTTP/1.1 ok => 200 none ok persistent",
			"GET /after-head?size=300 HTTP/1.1 ok => 200 content_length ok body=300 persistent",
		}, func(t *testing.T, txns []*Transaction) {
			if r := txns[0].Response; r.DeclaredLength != 5000 || r.BodyBytes != 0 {
				t.Errorf("HEAD response declared %d, body %d", r.DeclaredLength, r.BodyBytes)
			}
		}},
		{"not-modified-304.pcap", []string{
			"GET /cached?size=4000 HTTP/1.1 ok => 304 none ok persistent",
			"GET /fresh?size=700 HTTP/1.1 ok => 200 content_length ok body=700 persistent",
		}, nil},
		{"http10-close-delimited.pcap", []string{
			"GET /close-delimited?nolength=1&size=3000 HTTP/1.0 ok => 200 close_delimited ok body=3000",
		}, nil},
		{"truncated-fin.pcap", []string{
			"GET /truncated?size=20000&send=8000&end=fin HTTP/1.1 ok => 200 content_length incomplete:fin body=8000 persistent",
		}, nil},
		{"truncated-rst.pcap", []string{
			"GET /truncated?size=20000&send=8000&end=rst HTTP/1.1 ok => 200 content_length incomplete:rst body=8000 persistent",
		}, nil},
		{"chunked-no-last-chunk.pcap", []string{
			"GET /chunked-cut?chunked=1&size=3000&chunk=1000&nolast=1 HTTP/1.1 ok => 200 chunked incomplete:fin body=3000 persistent",
		}, nil},
		{"gap-mid-response.pcap", []string{
			"GET /gap/1?size=300 HTTP/1.1 ok => 200 content_length ok body=300 persistent",
			"GET /gap/2?size=12000 HTTP/1.1 ok => 200 content_length incomplete:gap body=10552 persistent",
			"GET /gap/3?size=400 HTTP/1.1 ok => 200 content_length ok body=400 persistent",
			"GET /gap/4?size=500 HTTP/1.1 ok => 200 content_length ok body=500 persistent",
		}, nil},
		{"upgrade-101.pcap", []string{
			"GET /upgrade HTTP/1.1 ok => 101 tunnel ok tunnel",
		}, nil},
		{"connect-tunnel.pcap", []string{
			"CONNECT 127.0.0.1:8080 HTTP/1.1 ok => 200 tunnel ok tunnel",
		}, nil},
		{"body-exceeds-content-length.pcap", []string{
			"GET /exceeds?size=100&extra=50 HTTP/1.1 ok => 200 content_length ok body=100 !body_beyond_content_length persistent",
		}, nil},
		{"pipeline-unanswered-close.pcap", []string{
			"GET /pu/1?size=600&delay=300&close=1&drain=1 HTTP/1.1 ok => 200 content_length ok body=600",
			"GET /pu/2?size=300 HTTP/1.1 ok => (no response) pipelined",
			"GET /pu/3?size=300 HTTP/1.1 ok => (no response) pipelined",
			"GET /pu/2?size=300 HTTP/1.1 ok => 200 content_length ok body=300 persistent",
			"GET /pu/3?size=300 HTTP/1.1 ok => 200 content_length ok body=300 persistent",
		}, nil},
		{"keepalive-reuse.pcap", nil, func(t *testing.T, txns []*Transaction) {
			if len(txns) != 5 {
				t.Fatalf("%d transactions", len(txns))
			}
			for i, tx := range txns {
				if tx.Pipelined || !tx.PersistentAfter || !tx.Response.Complete || tx.GapBefore < 0 {
					t.Errorf("txn %d: %q gap before %d", i, render([]*Transaction{tx}), tx.GapBefore)
				}
				if (i == 0) != (tx.Connect >= 0) {
					t.Errorf("txn %d: Connect %d", i, tx.Connect)
				}
			}
		}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join("..", "testdata", "captures", tc.file)
			if _, err := os.Stat(path); err != nil {
				t.Skipf("capture not present: %v", err)
			}
			res, err := analyzeFile(t, path, Config{})
			if err != nil {
				t.Fatal(err)
			}
			var txns []*Transaction
			for _, c := range res {
				if c.app == AppHTTP1 {
					txns = append(txns, c.txns...)
				}
			}
			if tc.want != nil {
				if got := render(txns); strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
					t.Errorf("got:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
				}
			}
			if tc.check != nil && len(txns) > 0 {
				tc.check(t, txns)
			}
		})
	}
}
