package check

import (
	"unicode"

	"golang.org/x/text/width"
)

// Width is how many terminal columns s takes: East Asian wide and
// fullwidth characters (Chinese, Japanese, Korean) take two, combining
// marks and format characters none, the rest one (ambiguous ones too, as
// psql counts them).
func Width(s string) int {
	n := 0
	for _, r := range s {
		switch {
		case unicode.Is(unicode.Mn, r), unicode.Is(unicode.Me, r), unicode.Is(unicode.Cf, r):
		default:
			switch width.LookupRune(r).Kind() {
			case width.EastAsianWide, width.EastAsianFullwidth:
				n += 2
			default:
				n++
			}
		}
	}
	return n
}
