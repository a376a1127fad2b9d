package provenance

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseChecksums(t *testing.T) {
	t.Parallel()
	const sum = "376e7e01348585b6e6643bc6663146b9d525d9b41228bf180eaeb4d4a3706caa"
	cases := []struct {
		name, text string
		want       []string // artifact names; nil means an error containing errText
		errText    string
	}{
		{"text mode lines", sum + "  a.tar.gz\n" + sum + "  dir/b\n", []string{"a.tar.gz", "dir/b"}, ""},
		{"binary mode and CRLF", sum + " *a.bin\r\n", []string{"a.bin"}, ""},
		{"blank lines and comments are skipped", "# release v1\n\n" + strings.ToUpper(sum) + "  a\n", []string{"a"}, ""},
		{"a short digest is refused", "abc  a\n", nil, ":1: expected"},
		{"a path leaving the directory is refused", sum + "  ../etc/passwd\n", nil, "inside the checksums file's directory"},
		{"an absolute path is refused", sum + "  /etc/passwd\n", nil, "inside"},
		{"an empty file is refused", "\n# nothing\n", nil, "no entries"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			arts, err := parseChecksums(strings.NewReader(tc.text), "/d", "SUMS")
			if tc.want == nil {
				if err == nil || !strings.Contains(err.Error(), tc.errText) {
					t.Fatalf("err = %v, want one containing %q", err, tc.errText)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(arts) != len(tc.want) {
				t.Fatalf("got %d artifacts, want %d", len(arts), len(tc.want))
			}
			for i, a := range arts {
				if a.Name != tc.want[i] || a.Path != filepath.Join("/d", tc.want[i]) || a.Checksum != sum {
					t.Errorf("artifact %d = %+v", i, a)
				}
			}
		})
	}
}

func TestExpandArtifacts(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, n := range []string{"a.tar.gz", "b.tar.gz", "c.txt"} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	arts, err := ExpandArtifacts(dir, []string{"*.tar.gz", "a.tar.gz"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(arts) != 2 || arts[0].Name != "a.tar.gz" || arts[1].Name != "b.tar.gz" {
		t.Fatalf("artifacts = %+v, want a and b once each", arts)
	}
	if _, err := ExpandArtifacts(dir, []string{"*.zip"}, nil); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("a glob matching nothing: err = %v", err)
	}
	if _, err := ExpandArtifacts(dir, nil, nil); err == nil {
		t.Fatal("no artifacts accepted")
	}
}

func FuzzParseChecksums(f *testing.F) {
	f.Add("376e7e01348585b6e6643bc6663146b9d525d9b41228bf180eaeb4d4a3706caa  a\n")
	f.Add("376e7e01348585b6e6643bc6663146b9d525d9b41228bf180eaeb4d4a3706caa *../x\n#c\n")
	f.Fuzz(func(t *testing.T, text string) {
		arts, err := parseChecksums(strings.NewReader(text), "/d", "SUMS")
		if err != nil {
			return
		}
		for _, a := range arts {
			if len(a.Checksum) != 64 || !strings.HasPrefix(a.Path, "/d/") {
				t.Fatalf("accepted %+v", a)
			}
		}
	})
}
