package analysis

import (
	"os"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// TestSchemaDocumented keeps docs/report-schema.md and the Report type in
// step: every JSON field the code can emit is documented, and every field
// the document describes exists.
func TestSchemaDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/report-schema.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z0-9_.\\[\\]]+)`").FindAllSubmatch(doc, -1) {
		documented[string(m[1])] = true
	}
	inCode := map[string]bool{}
	jsonPaths(reflect.TypeOf(Report{}), "", inCode)

	var missing, stale []string
	for p := range inCode {
		if !documented[p] {
			missing = append(missing, p)
		}
	}
	for p := range documented {
		if !inCode[p] {
			stale = append(stale, p)
		}
	}
	sort.Strings(missing)
	sort.Strings(stale)
	if len(missing) > 0 {
		t.Errorf("fields emitted but not documented in docs/report-schema.md:\n  %s", strings.Join(missing, "\n  "))
	}
	if len(stale) > 0 {
		t.Errorf("fields documented in docs/report-schema.md but not emitted:\n  %s", strings.Join(stale, "\n  "))
	}
	if !strings.Contains(string(doc), Schema) {
		t.Errorf("docs/report-schema.md does not name the schema version %q", Schema)
	}
}

// jsonPaths records the JSON path of every field reachable from t:
// "connections[].packets.client_to_server".
func jsonPaths(t reflect.Type, prefix string, out map[string]bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Slice:
		jsonPaths(t.Elem(), prefix+"[]", out)
		return
	case reflect.Struct:
	default:
		return
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		p := name
		if prefix != "" {
			p = prefix + "." + name
		}
		out[p] = true
		jsonPaths(f.Type, p, out)
	}
}

func TestTimeRoundTrip(t *testing.T) {
	for _, ns := range []int64{0, 1, 1_700_000_000_123_456_789, -5} {
		b, err := Time(ns).MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		var back Time
		if err := back.UnmarshalJSON(b); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if int64(back) != ns {
			t.Errorf("%d → %s → %d", ns, b, back)
		}
	}
}
