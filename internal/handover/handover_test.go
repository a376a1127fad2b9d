package handover

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeDir writes files (relative path → content) under a new directory.
func writeDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, c := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestDigestDir(t *testing.T) {
	t.Parallel()
	files := map[string]string{"report.json": `{"status":"pass"}`, "slo/a.json": "a", "b.json": "b"}
	a, err := DigestDir(writeDir(t, files))
	if err != nil {
		t.Fatal(err)
	}
	// sha256sum-style manifest sorted by path, hashed: b.json, report.json, slo/a.json.
	if !strings.HasPrefix(a, "sha256:") || len(a) != len("sha256:")+64 {
		t.Fatalf("expected sha256:<64 hex>, found %q", a)
	}
	b, err := DigestDir(writeDir(t, files))
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Errorf("expected the same digest for the same files, found %s and %s", a, b)
	}
	cases := map[string]map[string]string{
		"one byte changed": {"report.json": `{"status":"fail"}`, "slo/a.json": "a", "b.json": "b"},
		"a file renamed":   {"report.json": `{"status":"pass"}`, "slo/c.json": "a", "b.json": "b"},
		"a file added":     {"report.json": `{"status":"pass"}`, "slo/a.json": "a", "b.json": "b", "x": ""},
		"a file removed":   {"report.json": `{"status":"pass"}`, "slo/a.json": "a"},
	}
	for name, files := range cases {
		d, err := DigestDir(writeDir(t, files))
		if err != nil {
			t.Fatal(err)
		}
		if d == a {
			t.Errorf("%s: expected another digest, found the same %s", name, d)
		}
	}
}

func TestDigestDirRefusesNothing(t *testing.T) {
	t.Parallel()
	for name, dir := range map[string]string{
		"no directory":    filepath.Join(t.TempDir(), "absent"),
		"empty directory": t.TempDir(),
	} {
		if _, err := DigestDir(dir); !errors.Is(err, errMissing) {
			t.Errorf("%s: expected ErrMissing, found %v", name, err)
		}
	}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	dir := writeDir(t, map[string]string{"report.json": "{}"})
	digest, err := DigestDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	name, err := Name("releasegate-result-slo", digest)
	if err != nil {
		t.Fatal(err)
	}
	other := "sha256:" + strings.Repeat("0", 64)
	otherName, _ := Name("releasegate-result-slo", other)
	cases := []struct {
		name, dir, artifact, digest string
		want                        error
	}{
		{"the artifact as handed over", dir, name, digest, nil},
		{"the digest from the name only", dir, name, "", nil},
		{"the output's digest differs from the name's", dir, name, other, errDigest},
		{"the content differs from both", dir, otherName, other, errDigest},
		{"the artifact was not downloaded", filepath.Join(dir, "absent"), name, digest, errMissing},
		{"a name without a digest", dir, "releasegate-result-slo", "", errName},
		{"a digest of another algorithm", dir, name, "md5:abc", errName},
	}
	for _, tc := range cases {
		err := Verify(tc.dir, tc.artifact, tc.digest)
		if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("%s: expected %v, found %v", tc.name, tc.want, err)
		}
	}
	// The message names the artifact and both digests.
	err = Verify(dir, otherName, other)
	for _, want := range []string{otherName, other, digest} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("expected the mismatch message to name %s, found %v", want, err)
		}
	}
}

func TestPlan(t *testing.T) {
	t.Parallel()
	groups := []string{"slo", "abuse", "infra", "jobs"}
	m, err := Plan(groups, "abuse", 3)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range m.Include {
		got = append(got, l.Base())
	}
	want := "releasegate-result-slo releasegate-result-abuse-1-of-3 releasegate-result-abuse-2-of-3 releasegate-result-abuse-3-of-3 releasegate-result-infra releasegate-result-jobs"
	if strings.Join(got, " ") != want {
		t.Errorf("expected legs %s, found %s", want, strings.Join(got, " "))
	}
	for _, n := range []int{0, -1, MaxShards + 1, 1000} {
		if _, err := Plan(groups, "abuse", n); !errors.Is(err, errShards) {
			t.Errorf("shards %d: expected ErrShards, found %v", n, err)
		}
	}
	if m, err := Plan(groups, "abuse", MaxShards); err != nil || len(m.Include) != MaxShards+3 {
		t.Errorf("shards %d: expected %d legs, found %d (%v)", MaxShards, MaxShards+3, len(m.Include), err)
	}
}

// upload lays out a downloaded artifact for leg base with the files.
func upload(t *testing.T, root, base string, files map[string]string) string {
	t.Helper()
	src := writeDir(t, files)
	d, err := DigestDir(src)
	if err != nil {
		t.Fatal(err)
	}
	name, err := Name(base, d)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(filepath.Join(root, name), os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	return name
}

func TestCollect(t *testing.T) {
	t.Parallel()
	m, err := Plan([]string{"slo", "abuse"}, "abuse", 2)
	if err != nil {
		t.Fatal(err)
	}
	full := func(t *testing.T) string {
		root := t.TempDir()
		upload(t, root, "releasegate-result-slo", map[string]string{"report.json": "slo"})
		upload(t, root, "releasegate-result-abuse-1-of-2", map[string]string{"report.json": "1"})
		upload(t, root, "releasegate-result-abuse-2-of-2", map[string]string{"report.json": "2"})
		// Another job's artifact in the same download is ignored.
		upload(t, root, "releasegate-result-provenance", map[string]string{"report.json": "p"})
		return root
	}
	t.Run("every leg once, intact", func(t *testing.T) {
		found, err := Collect(full(t), m)
		if err != nil || len(found) != 3 {
			t.Fatalf("expected 3 legs, found %d (%v)", len(found), err)
		}
	})
	cases := []struct {
		name   string
		change func(t *testing.T, root string)
		want   error
		says   string
	}{
		{"a shard that uploaded nothing", func(t *testing.T, root string) {
			m, _ := filepath.Glob(filepath.Join(root, "releasegate-result-abuse-2-of-2.*"))
			os.RemoveAll(m[0])
		}, errMissing, "shard 2/2 of group abuse"},
		{"a shard uploaded twice", func(t *testing.T, root string) {
			upload(t, root, "releasegate-result-abuse-1-of-2", map[string]string{"report.json": "1 again"})
		}, errShards, "expected one artifact, found 2"},
		{"a shard changed after upload", func(t *testing.T, root string) {
			m, _ := filepath.Glob(filepath.Join(root, "releasegate-result-abuse-1-of-2.*"))
			os.WriteFile(filepath.Join(m[0], "report.json"), []byte("tampered"), 0o644)
		}, errDigest, "releasegate-result-abuse-1-of-2"},
		{"nothing downloaded", func(t *testing.T, root string) { os.RemoveAll(root) }, errMissing, "group slo"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := full(t)
			tc.change(t, root)
			_, err := Collect(root, m)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.says) {
				t.Errorf("expected %v saying %q, found %v", tc.want, tc.says, err)
			}
		})
	}
}

func FuzzParseName(f *testing.F) {
	f.Add("releasegate-result-slo.sha256-" + strings.Repeat("a", 64))
	f.Add(".sha256-")
	f.Add("x.sha256-" + strings.Repeat("A", 64))
	f.Fuzz(func(t *testing.T, name string) {
		base, digest, err := ParseName(name)
		if err != nil {
			return
		}
		if again, err := Name(base, digest); err == nil && again != name {
			t.Errorf("Name(ParseName(%q)) = %q", name, again)
		}
	})
}
