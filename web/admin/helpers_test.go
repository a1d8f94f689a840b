package admin

import (
	"strings"
	"testing"
	"time"

	"github.com/broker-dev/broker/admins"
)

func TestCSVSafe(t *testing.T) {
	for in, want := range map[string]string{"=cmd()": "'=cmd()", "+1": "'+1", "alice": "alice", "": "", "  =1+1": "'  =1+1", "-2": "'-2", "@SUM(A1)": "'@SUM(A1)", "\tx": "'\tx"} {
		if got := csvSafe(in); got != want {
			t.Errorf("csvSafe(%q) = %q", in, got)
		}
	}
}

// TestAuditRowNeutralisesEveryCell: a role ARN a person asked for (a
// grant key of their choosing ends up as the failed attempt's RoleARN), a
// provider id, a reason: no cell reaches a spreadsheet as a formula.
func TestAuditRowNeutralisesEveryCell(t *testing.T) {
	evil := "=HYPERLINK(\"https://evil.example\",\"x\")"
	row := auditRow(admins.AuditEvent{ID: 7, Time: time.Unix(0, 0), Event: evil, Result: evil, Reason: evil, Provider: evil,
		Subject: evil, RoleARN: evil, SessionName: evil, RemoteAddr: evil, UserAgent: evil, RequestID: evil, Message: evil})
	for i, cell := range row[2:] {
		if !strings.HasPrefix(cell, "'=") {
			t.Errorf("cell %d = %q: not neutralised", i+2, cell)
		}
	}
	if row[0] != "7" {
		t.Errorf("id cell %q", row[0])
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
