package diagnose

import (
	"slices"
	"strings"
)

// registry lists every rule once, in ID order (TestRegistry checks it).
// IDs are never reused: a retired rule's ID stays listed in retiredIDs.
//
// Categories:
//
//	CC  Closing: truncation, resets, retries, keep-alive races.
//	CH  HTTP connection handling: persistence, hop-by-hop headers, serial
//	    and parallel connections, pipelining.
//	CT  TCP behaviour that costs time: handshakes, ACK timing, slow start,
//	    Nagle, losses and windows, TIME_WAIT and ports.
var registry = []*Rule{
	ruleTruncatedBody,               // CC1001
	ruleUnterminatedChunked,         // CC1002
	ruleCloseDelimitedReset,         // CC1003
	ruleBodyBeyondLength,            // CC1004
	ruleResetWithUnreadData,         // CC1005
	ruleResetAfterResponse,          // CC1006
	ruleDataAfterClose,              // CC1007
	ruleNonIdempotentRetry,          // CC1008
	ruleIdleRace,                    // CC1009
	ruleCloseDelimitedBody,          // CC1010
	ruleMissingKeepAlive,            // CH1001
	ruleProxyConnection,             // CH1002
	ruleKeepAliveWithoutToken,       // CH1003
	ruleRedundantKeepAlive,          // CH1004
	ruleConnectionEndToEnd,          // CH1005
	ruleDumbProxyHang,               // CH1006
	ruleSerialIdleGaps,              // CH1007
	ruleHeadOfLineBlocking,          // CH1008
	ruleTooManyParallel,             // CH1009
	rulePipelinedNonIdempotent,      // CH1010
	rulePipeliningBeforePersistence, // CH1011
	rulePipelinedUnanswered,         // CH1012
	ruleHandshakeOverhead,           // CT1001
	ruleSYNRetransmission,           // CT1002
	ruleDelayedACKWait,              // CT1003
	ruleSlowStart,                   // CT1004
	ruleSlowStartRestart,            // CT1005
	ruleSmallInitialWindow,          // CT1006
	ruleNagleStall,                  // CT1007
	ruleRetransmissionTimeout,       // CT1008
	ruleFastRetransmission,          // CT1009
	ruleZeroWindow,                  // CT1010
	ruleTimeWaitReuse,               // CT1011
	ruleEphemeralPortPressure,       // CT1012
}

// retiredIDs are IDs of rules that were removed; they are never reused.
var retiredIDs = []string{}

// Rules returns every rule, in ID order. The slice is a copy; the rules
// themselves are shared and must not be modified.
func Rules() []*Rule { return slices.Clone(registry) }

// Lookup finds a rule by ID or slug (IDs case-insensitively), or returns
// nil.
func Lookup(idOrSlug string) *Rule {
	for _, r := range registry {
		if strings.EqualFold(r.ID, idOrSlug) || r.Slug == idOrSlug {
			return r
		}
	}
	return nil
}
