package diagnose

import "fmt"

// Severity ranks a finding: how much attention it deserves.
type Severity uint8

// Severities, from least to most serious. The zero value is not a valid
// severity, so a rule that forgot to set one fails registry validation.
const (
	SeverityInfo    Severity = iota + 1 // worth knowing; nothing is broken
	SeverityWarning                     // costs time or resources, or breaks in some setups
	SeverityError                       // data was lost or a protocol rule was broken
)

// String returns "info", "warning" or "error".
func (s Severity) String() string {
	switch s {
	case SeverityInfo:
		return "info"
	case SeverityWarning:
		return "warning"
	case SeverityError:
		return "error"
	}
	return fmt.Sprintf("severity(%d)", uint8(s))
}

// ParseSeverity is the inverse of String.
func ParseSeverity(s string) (Severity, error) {
	switch s {
	case "info":
		return SeverityInfo, nil
	case "warning", "warn":
		return SeverityWarning, nil
	case "error":
		return SeverityError, nil
	}
	return 0, fmt.Errorf("diagnose: unknown severity %q (want info, warning or error)", s)
}
