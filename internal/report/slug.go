package report

import (
	"strconv"
	"strings"
	"unicode"
)

// slugger turns heading texts into the anchors GitHub gives them, so the
// step summary's links land: lowercase, every character that is not a
// letter, mark, digit, connector punctuation, space or hyphen dropped (emoji
// included), each space replaced by a hyphen, and a repeated slug suffixed
// -1, -2, … in document order (github-slugger's rule).
type slugger struct{ seen map[string]int }

func newSlugger() *slugger { return &slugger{seen: map[string]int{}} }

// Slug returns the anchor of the next heading with the given text.
func (s *slugger) Slug(text string) string {
	base := githubSlug(text)
	slug := base
	for {
		n, dup := s.seen[slug]
		if !dup {
			break
		}
		s.seen[base] = n + 1
		slug = base + "-" + strconv.Itoa(n+1)
		if _, taken := s.seen[slug]; !taken {
			break
		}
	}
	s.seen[slug] = 0
	return slug
}

func githubSlug(text string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(text) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_':
			b.WriteRune(r)
		case unicode.IsLetter(r), unicode.IsMark(r), unicode.IsNumber(r), unicode.Is(unicode.Pc, r):
			b.WriteRune(r)
		}
	}
	return b.String()
}
