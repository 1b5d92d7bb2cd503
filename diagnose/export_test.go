package diagnose

// ForceWideSummaries makes e keep every connection summary in the wide
// form (full 64-bit values in a side table), for tests that hold the
// compact form to changing no finding.
func ForceWideSummaries(e *Engine) { e.forceWide = true }

// SummaryForms counts e's summaries kept in the compact and the wide form.
func SummaryForms(e *Engine) (compact, wide int) {
	for _, chunk := range e.summaries.chunks {
		for i := range chunk {
			if chunk[i].wide() {
				wide++
			} else {
				compact++
			}
		}
	}
	return compact, wide
}
