package models_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"agora/internal/testdb"
	"agora/models"
)

func TestSettings(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		get := func(key, def string) string {
			t.Helper()
			v, err := models.GetSetting(ctx, db, key, def)
			if err != nil {
				t.Fatalf("GetSetting(%s): %v", key, err)
			}
			return v
		}
		if got := get(models.SettingCommunityName, "Default Name"); got != "Default Name" {
			t.Errorf("unset setting = %q, want the default", got)
		}
		if err := models.PutSetting(ctx, db, models.SettingCommunityName, "Acme Help", t0); err != nil {
			t.Fatal(err)
		}
		if got := get(models.SettingCommunityName, "Default Name"); got != "Acme Help" {
			t.Errorf("after Put = %q, want Acme Help", got)
		}
		later := t0.Add(time.Hour)
		if err := models.PutSetting(ctx, db, models.SettingCommunityName, "Acme Community", later); err != nil {
			t.Fatalf("second PutSetting (upsert): %v", err)
		}
		if got := get(models.SettingCommunityName, "Default Name"); got != "Acme Community" {
			t.Errorf("after a second Put = %q, want Acme Community", got)
		}
		var rows []models.Setting
		if err := db.NewSelect().Model(&rows).Scan(ctx); err != nil {
			t.Fatal(err)
		}
		if len(rows) != 1 {
			t.Fatalf("settings rows = %d, want 1 after an upsert", len(rows))
		}
		if !rows[0].UpdatedAt.Equal(later) {
			t.Errorf("updated_at = %v, want %v", rows[0].UpdatedAt, later)
		}
		// An empty stored value is a value, not "unset".
		if err := models.PutSetting(ctx, db, "tagline", "", t0); err != nil {
			t.Fatal(err)
		}
		if got := get("tagline", "fallback"); got != "" {
			t.Errorf("empty stored value = %q, want empty, not the default", got)
		}
		if got := get("other", "x"); got != "x" {
			t.Errorf("another unset key = %q, want its default", got)
		}
	})
}

func TestIsUniqueViolation(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		mustCreateUser(t, db, "uniq", "uniq@example.com", models.RoleMember)
		// Insert directly, past CreateUser's pre-check, to hit the index.
		_, err := db.NewInsert().Model(&models.User{Username: "UNIQ", Email: "other@example.com", Role: models.RoleMember,
			CreatedAt: t0, UpdatedAt: t0}).Exec(ctx)
		if err == nil {
			t.Fatal("duplicate username (other case) inserted: the unique index on lower(username) is missing")
		}
		if !models.IsUniqueViolation(err) {
			t.Errorf("IsUniqueViolation(%v) = false, want true", err)
		}
		if models.IsUniqueViolation(nil) {
			t.Error("IsUniqueViolation(nil) = true")
		}
		_, err = db.ExecContext(ctx, "SELECT * FROM no_such_table")
		if err == nil || models.IsUniqueViolation(err) {
			t.Errorf("IsUniqueViolation(%v) = true for a missing table", err)
		}
	})
}

func TestValidationError(t *testing.T) {
	t.Parallel()
	v := &models.ValidationError{}
	if v.Err() != nil {
		t.Fatal("empty ValidationError.Err() != nil")
	}
	v.Add("username", "first reason")
	v.Add("email", "bad email")
	v.Add("username", "second reason")
	err := v.Err()
	var ve *models.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Err() = %v, want the *ValidationError", err)
	}
	if ve.Fields["username"] != "first reason" {
		t.Errorf("username = %q, want the first reason kept", ve.Fields["username"])
	}
	if got, want := err.Error(), "invalid input: email: bad email; username: first reason"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestErrorsUnwrap(t *testing.T) {
	t.Parallel()
	ce := &models.ConflictError{Field: "email", Message: "taken"}
	if !errors.Is(ce, models.ErrConflict) || ce.Error() != "taken" {
		t.Errorf("ConflictError: Is(ErrConflict) = %v, Error() = %q", errors.Is(ce, models.ErrConflict), ce.Error())
	}
	until := t0
	se := &models.SuspendedError{Until: &until}
	if !strings.Contains(se.Error(), "2026-11-01T12:00:00Z") {
		t.Errorf("SuspendedError = %q, want the end date in RFC 3339", se.Error())
	}
	if got := (&models.SuspendedError{}).Error(); !strings.Contains(got, "indefinitely") {
		t.Errorf("indefinite SuspendedError = %q, want it to say indefinitely", got)
	}
}
