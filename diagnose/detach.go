package diagnose

import (
	"strings"

	"github.com/connscope/connscope/httpflow"
)

// detach returns the copy of t that a finding keeps until Finish: every
// field a caller renders (ID, connection, index, flags, timings) and the
// messages' start lines and connection-management headers, copied out of the
// parser's buffers, without the header lists. A finding therefore does not
// keep its connection's buffers alive after the connection was released.
func detach(t *httpflow.Transaction) *httpflow.Transaction {
	if t == nil {
		return nil
	}
	d := *t
	d.Request, d.Response = detachMessage(t.Request), detachMessage(t.Response)
	d.Interim = nil
	for _, m := range t.Interim {
		d.Interim = append(d.Interim, detachMessage(m))
	}
	return &d
}

func detachMessage(m *httpflow.Message) *httpflow.Message {
	if m == nil {
		return nil
	}
	d := *m
	d.Method, d.Target, d.Version, d.Reason = strings.Clone(m.Method), strings.Clone(m.Target), strings.Clone(m.Version), strings.Clone(m.Reason)
	d.ConnectionTokens = nil
	for _, tok := range m.ConnectionTokens {
		d.ConnectionTokens = append(d.ConnectionTokens, strings.Clone(tok))
	}
	d.Extra = nil
	if x := m.Extra; x != nil {
		// The header field lists are left behind, as they always were.
		d.Extra = &httpflow.MessageExtra{
			KeepAlive:       strings.Clone(x.KeepAlive),
			ProxyConnection: strings.Clone(x.ProxyConnection),
			Expect:          strings.Clone(x.Expect),
			Upgrade:         strings.Clone(x.Upgrade),
			Anomalies:       append([]string(nil), x.Anomalies...),
		}
	}
	return &d
}
