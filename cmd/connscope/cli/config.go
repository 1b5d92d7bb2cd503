package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// configFileName is looked for in the working directory when --config is
// not given.
const configFileName = ".connscope.json"

// fileConfig is the configuration file's format (JSON):
//
//	{
//	  "enable":     ["all"],
//	  "disable":    ["CH1003", "hop-by-hop-*"],
//	  "thresholds": {"CH1009.max-connections": 8, "idle-gap.min-gap": 250},
//	  "fail_on":    "warning"
//	}
//
// Every key is optional. Command-line flags add to (enable, disable,
// thresholds) or override (fail_on) what the file says. A fail_on that is
// present must name a severity, as --fail-on must: "" is an error, not
// "no gate" (null or leaving the key out is "no gate").
type fileConfig struct {
	Enable     []string           `json:"enable"`
	Disable    []string           `json:"disable"`
	Thresholds map[string]float64 `json:"thresholds"`
	// FailOn is nil when the file has no fail_on (or null).
	FailOn *string `json:"fail_on"`
}

// loadConfig reads the file named by --config, or .connscope.json in the
// working directory when it exists. A named file must exist.
func loadConfig(name string) (*fileConfig, string, error) {
	explicit := name != ""
	if !explicit {
		name = configFileName
	}
	data, err := os.ReadFile(name)
	if err != nil {
		if !explicit && errors.Is(err, fs.ErrNotExist) {
			return &fileConfig{}, "", nil
		}
		return nil, name, fmt.Errorf("config: %w", err)
	}
	var c fileConfig
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, name, fmt.Errorf("config %s: %w", name, err)
	}
	return &c, name, nil
}
