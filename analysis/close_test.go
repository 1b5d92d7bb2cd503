package analysis

import "testing"

// TestHowClosed: the short close description names the side that sent
// each kind of close; a FIN answered by the peer's RST names both, so that
// a server's FIN is never reported as "rst by server".
func TestHowClosed(t *testing.T) {
	for _, tc := range []struct {
		desc                  string
		close, firstBy, rstBy string
		want                  string
	}{
		{"still open", "open", "", "", "open"},
		{"half closed, capture ended", "fin", "server", "", "fin by server"},
		{"clean close by the client", "fin", "client", "", "fin by client"},
		{"server resets", "rst", "server", "server", "rst by server"},
		{"client resets first", "rst", "client", "client", "rst by client"},
		{"server's FIN answered by the client's RST", "rst", "server", "client", "fin by server, rst by client"},
		{"client's FIN answered by the server's RST", "rst", "client", "server", "fin by client, rst by server"},
		{"report without rst_by (older JSON)", "rst", "server", "", "rst by server"},
		{"rst with no side known", "rst", "", "", "rst"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			c := &ConnReport{Close: tc.close, ClosedFirstBy: tc.firstBy, RSTBy: tc.rstBy}
			if got := c.HowClosed(); got != tc.want {
				t.Errorf("HowClosed() = %q, want %q", got, tc.want)
			}
		})
	}
}
