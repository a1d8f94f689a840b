package admin

import (
	"strings"
	"testing"
	"time"
)

func TestCSVSafe(t *testing.T) {
	for in, want := range map[string]string{"=cmd()": "'=cmd()", "+1": "'+1", "alice": "alice", "": ""} {
		if got := csvSafe(in); got != want {
			t.Errorf("csvSafe(%q) = %q", in, got)
		}
	}
}

func TestLineDiff(t *testing.T) {
	got := lineDiff("a\nb\nc\n", "a\nc\nd\n")
	var s []string
	for _, l := range got {
		s = append(s, l.Op+l.Text)
	}
	if strings.Join(s, ",") != " a,-b, c,+d" {
		t.Fatalf("diff %v", s)
	}
	if changed(lineDiff("x\n", "x\n")) {
		t.Fatal("identical texts differ")
	}
}

func TestShortDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{4 * time.Hour: "4h", 90 * time.Minute: "1h30m", 15 * time.Minute: "15m", 61 * time.Second: "1m1s"} {
		if got := shortDuration(d); got != want {
			t.Errorf("shortDuration(%v) = %q, want %q", d, got, want)
		}
	}
}
