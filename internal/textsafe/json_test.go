package textsafe

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestJSONWriter(t *testing.T) {
	in := map[string]string{"target": "/\u009b31m\u202eevil\u2067x\u0085\x1b<é€😀"}
	raw, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	// Byte by byte, so every multi-byte sequence is cut between Writes.
	for _, chunk := range []int{1, 2, 3, len(raw)} {
		var out bytes.Buffer
		j := NewJSONWriter(&out)
		for i := 0; i < len(raw); i += chunk {
			if _, err := j.Write(raw[i:min(i+chunk, len(raw))]); err != nil {
				t.Fatal(err)
			}
		}
		if err := j.Flush(); err != nil {
			t.Fatal(err)
		}
		got := out.String()
		want := `{"target":"/\u009b31m\u202eevil\u2067x\u0085\u001b\u003cé€😀"}`
		if got != want {
			t.Errorf("chunks of %d: got %s\nwant %s", chunk, got, want)
		}
		var back map[string]string
		if err := json.Unmarshal(out.Bytes(), &back); err != nil || back["target"] != in["target"] {
			t.Errorf("chunks of %d: does not decode to the same value: %q, %v", chunk, back, err)
		}
	}
}
