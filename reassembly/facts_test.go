package reassembly

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCaptureFacts checks, on real captures, the facts their READMEs and
// manifests state about connections: what tshark's counts cannot show.
func TestCaptureFacts(t *testing.T) {
	shared := sharedPcaps(t)
	tests := []struct {
		file  string // under testdata/ or, with shared/, in the shared folder
		check func(t *testing.T, conns []*Connection)
	}{
		{"shared/suricata-verify__syn_retransmit_with_ts.pcap", func(t *testing.T, cs []*Connection) {
			// Client frames carry VLAN 3136, server frames none: one connection.
			if len(cs) != 1 || cs[0].VLAN != 3136 || cs[0].Dir[0].Packets == 0 || cs[0].Dir[1].Packets == 0 {
				t.Fatalf("want one connection on VLAN 3136 with both directions: %d conns", len(cs))
			}
			if cs[0].Handshake.SYNRetransmissions != 1 {
				t.Errorf("SYN retransmissions %d, want 1", cs[0].Handshake.SYNRetransmissions)
			}
		}},
		{"shared/chrissanders-packets__tcp_refuseconnection.pcapng", func(t *testing.T, cs []*Connection) {
			if len(cs) != 1 || cs[0].State != "REJ" || cs[0].RSTBy != RoleServer {
				t.Errorf("want REJ reset by the server, got %s by %q", cs[0].State, cs[0].RSTBy)
			}
		}},
		{"shared/zeek__tcp-fast-open.pcap", func(t *testing.T, cs []*Connection) {
			n := 0
			for _, c := range cs {
				if c.Handshake.FastOpenData {
					n++
				}
			}
			if n == 0 {
				t.Error("no connection with data in its SYN")
			}
		}},
		{"shared/zeek__timestamp.pcap", func(t *testing.T, cs []*Connection) {
			if len(cs) != 1 || cs[0].Dir[0].SnapCutBytes+cs[0].Dir[1].SnapCutBytes == 0 {
				t.Error("snaplen-cut frames not reported")
			}
		}},
		{"shared/zeek__entity_gap.pcap", func(t *testing.T, cs []*Connection) {
			if len(cs) != 1 || cs[0].Dir[ServerToClient].Gaps == 0 || cs[0].Dir[ServerToClient].LostSegments == 0 {
				t.Error("the gap in the response body is not reported")
			}
		}},
		{"shared/zeek__http-non-printable-characters.pcap", func(t *testing.T, cs []*Connection) {
			for _, c := range cs {
				if c.ClosedFirstBy != RoleServer || c.RSTBy != RoleClient || c.State != "RSTO" {
					t.Errorf("conn %d: closed first by %q, RST by %q, state %s; want server FIN then client RST", c.ID, c.ClosedFirstBy, c.RSTBy, c.State)
				}
			}
		}},
		{"shared/chrissanders-packets__tcp_zerowindowdead.pcapng", func(t *testing.T, cs []*Connection) {
			c := cs[0]
			if !c.RolesInferred || c.Server.Port() != 80 || c.Dir[ClientToServer].ZeroWindows != 4 || c.Dir[ServerToClient].KeepAlives != 3 {
				t.Errorf("inferred %v server %v zero windows %d keep-alives %d", c.RolesInferred, c.Server, c.Dir[0].ZeroWindows, c.Dir[1].KeepAlives)
			}
		}},
		{"captures/tuple-reuse-fin.pcap", func(t *testing.T, cs []*Connection) {
			for _, c := range cs[1:] {
				if !c.ReusedTuple || c.PreviousID != c.ID-1 {
					t.Errorf("conn %d: reused %v previous %d", c.ID, c.ReusedTuple, c.PreviousID)
				}
			}
		}},
		{"captures/tuple-reuse-rst.pcap", func(t *testing.T, cs []*Connection) {
			if len(cs) < 2 || !cs[1].ReusedTuple || cs[0].Close != CloseRST {
				t.Error("reuse after RST not recognised")
			}
		}},
		{"captures/keepalive-race.pcap", func(t *testing.T, cs []*Connection) {
			if cs[0].RSTBy != RoleServer || !cs[0].RSTWithUnreadData {
				t.Errorf("the server's RST answering an unacknowledged request: by %q unread %v", cs[0].RSTBy, cs[0].RSTWithUnreadData)
			}
		}},
		{"captures/vlan.pcap", func(t *testing.T, cs []*Connection) {
			for _, c := range cs {
				if c.VLAN == 0 {
					t.Errorf("conn %d: VLAN not recorded", c.ID)
				}
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join(repoRoot(t), "testdata", tc.file)
			if rest, ok := strings.CutPrefix(tc.file, "shared/"); ok {
				if shared == "" {
					t.Skip("shared captures not found")
				}
				path = filepath.Join(shared, rest)
			}
			if _, err := os.Stat(path); err != nil {
				t.Skipf("%s not present", tc.file)
			}
			col := &collector{}
			if _, err := assembleFile(path, Config{}, col); err != nil {
				t.Fatal(err)
			}
			if len(col.conns) == 0 {
				t.Fatal("no connections")
			}
			tc.check(t, col.conns)
		})
	}
}
