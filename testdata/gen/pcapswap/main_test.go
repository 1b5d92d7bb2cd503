package main

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

// TestSwapRoundTrip swaps every generated classic pcap twice and expects the
// original bytes back, and checks that one swap changed the byte order of the
// magic and of each record length.
func TestSwapRoundTrip(t *testing.T) {
	files, _ := filepath.Glob("../../captures/*.pcap")
	if len(files) == 0 {
		t.Skip("no captures in testdata/captures")
	}
	for _, f := range files {
		in, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if len(in) >= 4 && binary.LittleEndian.Uint32(in) == 0xa1b2cd34 {
			// The modified pcap (24-byte record headers), which pcapswap
			// does not rewrite: it must refuse it, not mangle it.
			if _, err := swap(in); err == nil {
				t.Errorf("%s: a modified pcap was swapped as a classic one", f)
			}
			continue
		}
		once, err := swap(in)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if bytes.Equal(once[:4], in[:4]) {
			t.Errorf("%s: magic unchanged after swap", f)
		}
		if got, want := binary.BigEndian.Uint32(once[24+8:]), binary.LittleEndian.Uint32(in[24+8:]); got != want {
			t.Errorf("%s: first record length %d after swap, want %d", f, got, want)
		}
		twice, err := swap(once)
		if err != nil {
			t.Fatalf("%s: second swap: %v", f, err)
		}
		if !bytes.Equal(twice, in) {
			t.Errorf("%s: swapping twice did not give the original back", f)
		}
	}
}

func TestSwapRejectsBadInput(t *testing.T) {
	for _, tc := range []struct {
		desc string
		data []byte
	}{
		{"empty", nil},
		{"short header", make([]byte, 10)},
		{"pcapng magic", append([]byte{0x0a, 0x0d, 0x0d, 0x0a}, make([]byte, 28)...)},
		{"record past the end", func() []byte {
			b := make([]byte, 24+16)
			binary.LittleEndian.PutUint32(b, magicMicro)
			binary.LittleEndian.PutUint32(b[24+8:], 100)
			return b
		}()},
		{"truncated record header", func() []byte {
			b := make([]byte, 24+7)
			binary.LittleEndian.PutUint32(b, magicNano)
			return b
		}()},
	} {
		if _, err := swap(tc.data); err == nil {
			t.Errorf("%s: want an error", tc.desc)
		}
	}
}
