// Package english holds the few words a message changes with a count, so
// that "1 connection was" and "2 connections were" read right wherever
// connscope prints a count (the analysis warnings and the rules'
// messages).
package english

import "strconv"

// Noun is word for one of it, word with an s otherwise.
func Noun(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// WasWere is the verb for a count: "was" for one, "were" otherwise.
func WasWere(n int) string {
	if n == 1 {
		return "was"
	}
	return "were"
}

// ItsTheir is the possessive for a count: "its" for one, "their" otherwise.
func ItsTheir(n int) string {
	if n == 1 {
		return "its"
	}
	return "their"
}

// Ordinal is n as an English ordinal: "1st", "2nd", "3rd", "4th", "11th",
// "21st", "112th".
func Ordinal(n int) string {
	suffix := "th"
	switch n % 100 {
	case 11, 12, 13:
	default:
		switch n % 10 {
		case 1:
			suffix = "st"
		case 2:
			suffix = "nd"
		case 3:
			suffix = "rd"
		}
	}
	return strconv.Itoa(n) + suffix
}
